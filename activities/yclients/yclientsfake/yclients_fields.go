package yclientsfake

import "reflect"

// The fields of YClients' own shapes of a company, a staff member and a service, which
// POST /_fake/salons accepts besides the fake's shape (reference §5.2-5.4). The lists hold every
// field of these objects in YC-DOC: the object tables, the samples of GET /company/{id},
// GET /companies, GET /company/{id}/staff, GET /staff/{id}, GET /company/{id}/services,
// GET /book_services, GET /book_staff and the company objects embedded in records and documents,
// plus the settings fields production company answers carry. A real answer with a field missing
// here is refused with 400 naming it: add the field here.
//
// A nil type takes the value as it is (it is answered back unchanged by the REST API); a
// non-nil type is an object or a list of objects the fake reads, whose own fields are checked.

var companyShape = fieldSet(nil,
	"id", "title", "public_title", "short_descr", "logo", "active", "country_id", "country",
	"city_id", "city", "timezone", "timezone_name", "schedule", "address", "zip", "phone", "phones",
	"email", "site", "coordinate_lat", "coordinate_lon", "app_ios", "app_android",
	"phone_confirmation", "active_staff_count", "next_slot", "booking_comment_required",
	"booking_email_required", "booking_comment_input_name", "booking_notify_text",
	"reminds_sms_disabled", "reminds_sms_default", "group_priority", "bookform_group_priority",
	"allow_change_record", "allow_change_record_delay_step", "allow_delete_record",
	"allow_delete_record_delay_step", "social", "description", "photos", "company_photos",
	"business_group_id", "business_type_id", "main_group_id", "main_group", "groups", "bookforms",
	"online_sales_form_url", "access", "currency_short_title", "push_notification_phone_confirm",
	"seance_delay_step", "show_any_master", "timetable_off", "is_charge_active", "print_bill_on",
	"print_bill_type", "record_type_id", "auto_pay_account_id", "auto_pay_bank_account_id",
	"is_admin_app", "sms_enabled", "sms_symbols_count", "activity_record_clients_count_max",
	"activity_online_record_clients_count_max",
)

var staffShape = fieldSet(nil,
	"id", "api_id", "name", "company_id", "specialization", "position", "weight", "show_rating",
	"rating", "votes_count", "comments_count", "average_score", "avatar", "avatar_big",
	"information", "hidden", "fired", "status", "image_group", "user_id", "bookable", "prepaid",
	"phone", "email", "seance_date", "seances",
)

var serviceShape = fieldSet(map[string]reflect.Type{"staff": reflect.TypeFor[[]serviceStaff]()},
	"id", "salon_service_id", "title", "booking_title", "print_title", "category_id", "price_min",
	"price_max", "discount", "comment", "weight", "active", "api_id", "api_service_id", "prepaid",
	"is_multi", "capacity", "image_group", "dates", "duration", "resources", "is_online",
	"seance_length", "sex", "image", "service_type", "tax_variant", "vat_id",
	"repeat_visit_days_step", "seance_search_start", "seance_search_finish", "seance_search_step",
	"step", "is_need_limit_date", "date_from", "date_to", "schedule_template_type",
	"online_invoicing_status", "is_abonement_autopayment_enabled", "autopayment_before_visit_time",
	"abonement_restriction_value", "is_chain", "is_price_managed_only_in_chain",
	"is_comment_managed_only_in_chain", "price_prepaid_amount", "price_prepaid_percent",
	"technical_break_duration",
)

func fieldSet(typed map[string]reflect.Type, names ...string) map[string]reflect.Type {
	out := make(map[string]reflect.Type, len(names)+len(typed))
	for _, n := range names {
		out[n] = nil
	}
	for n, t := range typed {
		out[n] = t
	}
	return out
}

func (Salon) yclientsFields() map[string]reflect.Type   { return companyShape }
func (Staff) yclientsFields() map[string]reflect.Type   { return staffShape }
func (Service) yclientsFields() map[string]reflect.Type { return serviceShape }
