package yclientsfake_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// yclientsCompany is a company as YClients' GET /company/{id} answers it (the doc sample, with
// the phone as a number), with staff and services as YClients' lists give them.
const yclientsCompany = `{"id":"37532","title":"Новая компания","country_id":1,"country":"Россия","city_id":1,
	"city":"Москва","timezone_name":"Europe/Moscow","timezone":3,"address":"Большой Саввинский пер., д. 3",
	"zip":119435,"coordinate_lat":55.735662,"coordinate_lon":37.678218,"short_descr":"Салон красоты",
	"social":{"facebook":"","vk":"vk.com/newcompany","instagram":"","telegram":"","whatsapp":"","viber":""},
	"site":"new-company.ru","business_type_id":1,"description":"Самая <strong>Новая компания</strong> на рынке",
	"phone_confirmation":true,"active_staff_count":3,"next_slot":"2023-03-23T10:10:00+0300","group_priority":900,
	"push_notification_phone_confirm":1,"main_group_id":9206,"main_group":{"id":9206,"title":"Основная сеть"},
	"groups":{"9206":{"id":9206,"title":"Основная сеть"}},
	"bookforms":[{"id":19203,"title":"Форма","is_default":0,"url":"https://n19203.yclients.com/"}],
	"online_sales_form_url":"https://o1.yclients.com","access":{},"phone":74955092446,"email":"hello@new-company.ru",
	"staff":[
		{"id":1001539,"name":"Сотрудник 1","company_id":176275,"specialization":"специалист",
		 "position":{"id":7,"title":"Администратор"},"avatar":"https://yclients.com/images/no-master-sm.png",
		 "avatar_big":"https://yclients.com/images/no-master.png","fired":0,"status":0,"hidden":0,"user_id":12345},
		{"id":"34006","api_id":"42","name":"Денис","specialization":"парикмахер","position":[],"show_rating":"0",
		 "rating":"0","votes_count":"0","user_id":12345,"comments_count":"0","weight":"9",
		 "information":"<span>&nbsp;</span>","hidden":"0","fired":"0","status":"0","image_group":[]},
		{"id":"13616","name":"Александр","specialization":"парикмахер","position":[],"hidden":"0","fired":"1","status":"0"}],
	"services":[
		{"id":"83169","title":"Мужская стрижка","category_id":"83167","price_min":"1300.00","price_max":"1300.00",
		 "discount":"0","comment":"","weight":"6","active":"1","api_id":"00000000042",
		 "staff":[{"id":"1001539","seance_length":"2700"},{"id":"34006","seance_length":"3600"}]},
		{"id":1896208,"title":"Мытье волос","category_id":1895571,"price_min":0,"price_max":0,"discount":0,
		 "comment":"","weight":0,"active":0,"sex":0,"image":"","prepaid":"forbidden","seance_length":3600}]}`

func TestAddSalonInYClientsShape(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{})
	a := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons", body: yclientsCompany})
	require.Equal(t, http.StatusCreated, a.status, a.raw)

	s, ok := f.Salon(37532)
	require.True(t, ok)
	require.Equal(t, "Новая компания", s.Title)
	require.Equal(t, "74955092446", s.Phone, "a phone sent as a number")
	require.Equal(t, "Europe/Moscow", s.Timezone, "the zone comes from timezone_name")
	require.Equal(t, "pending", f.Status(37532))

	require.Len(t, s.Staff, 3)
	require.Equal(t, yclientsfake.Staff{ID: 1001539, Name: "Сотрудник 1", Specialization: "специалист",
		Position: "Администратор", PositionID: 7, Bookable: true}, withoutExtra(s.Staff[0]))
	require.Equal(t, int64(34006), s.Staff[1].ID, "an ID sent as a string")
	require.True(t, s.Staff[2].Fired)
	require.False(t, s.Staff[2].Bookable, "fired staff are not bookable unless bookable says so")

	require.Len(t, s.Services, 2)
	require.Equal(t, []int64{1001539, 34006}, s.Services[0].StaffIDs)
	require.Equal(t, 3600, s.Services[0].DurationSeconds, "the longest staff seance_length")
	require.Equal(t, 1300.0, s.Services[0].PriceMin)
	require.True(t, s.Services[0].Active)
	require.False(t, s.Services[1].Active, `"active":0`)
	require.Equal(t, 3600, s.Services[1].DurationSeconds, "book_services' seance_length")

	t.Run("GET /company answers the fields as given", func(t *testing.T) {
		c := do(t, srv, call{path: "/api/v1/company/37532", api: true}).dataObject(t)
		require.Equal(t, 37532.0, c["id"])
		require.Equal(t, 3.0, c["timezone"])
		require.Equal(t, "Europe/Moscow", c["timezone_name"])
		require.Equal(t, map[string]any{"facebook": "", "vk": "vk.com/newcompany", "instagram": "", "telegram": "", "whatsapp": "", "viber": ""}, c["social"])
		require.Equal(t, []any{map[string]any{"id": 19203.0, "title": "Форма", "is_default": 0.0, "url": "https://n19203.yclients.com/"}}, c["bookforms"])
		require.Equal(t, 119435.0, c["zip"])
		require.Equal(t, "2023-03-23T10:10:00+0300", c["next_slot"])
		require.Equal(t, "Большой Саввинский пер., д. 3", c["address"])
	})
	t.Run("the lists answer YClients' other fields as given", func(t *testing.T) {
		staff := do(t, srv, call{path: "/api/v1/company/37532/staff", api: true}).dataList(t)
		require.Equal(t, 12345.0, staff[0]["user_id"])
		require.Equal(t, map[string]any{"id": 7.0, "title": "Администратор"}, staff[0]["position"])
		require.Equal(t, 37532.0, staff[0]["company_id"], "the salon's own ID, not the source's")
		require.Equal(t, "42", staff[1]["api_id"])
		require.Equal(t, []any{}, staff[1]["image_group"])
		services := do(t, srv, call{path: "/api/v1/company/37532/services", api: true}).dataList(t)
		require.Equal(t, "00000000042", services[0]["api_id"])
		require.Equal(t, "6", services[0]["weight"])
		require.Equal(t, "forbidden", services[1]["prepaid"])
	})
	t.Run("bookings work against the staff and services given", func(t *testing.T) {
		rec, err := f.CreateRecord(37532, yclientsfake.RecordInput{StaffID: 34006, ServiceIDs: []int64{83169},
			Datetime: "2026-12-12 14:30:00"})
		require.NoError(t, err)
		require.Equal(t, 3600, rec.SeanceLength)
	})
}

func withoutExtra(s yclientsfake.Staff) yclientsfake.Staff {
	s.Extra = nil
	return s
}

func TestAddSalonTimezones(t *testing.T) {
	_, srv := start(t, yclientsfake.Options{})
	cases := []struct {
		name, fields string
		want         int
		field        string
	}{
		{"offset as a number", `"timezone":3,"timezone_name":"Europe/Moscow"`, 201, ""},
		{"offset with a colon", `"timezone":"+03:00","timezone_name":"Europe/Moscow"`, 201, ""},
		{"offset without a colon", `"timezone":"+1000","timezone_name":"Asia/Vladivostok"`, 201, ""},
		{"UTC+2", `"timezone":"UTC+2","timezone_name":"Europe/Kaliningrad"`, 201, ""},
		{"half hours", `"timezone":5.5,"timezone_name":"Asia/Kolkata"`, 201, ""},
		{"the fake's IANA timezone", `"timezone":"Asia/Vladivostok"`, 201, ""},
		{"both names agree", `"timezone":"Asia/Vladivostok","timezone_name":"Asia/Vladivostok"`, 201, ""},
		{"offset of another zone", `"timezone":5,"timezone_name":"Europe/Moscow"`, 422, "timezone"},
		{"offset without a zone", `"timezone":3`, 422, "timezone_name"},
		{"names disagree", `"timezone":"Europe/Moscow","timezone_name":"Asia/Vladivostok"`, 422, "timezone_name"},
		{"unknown zone", `"timezone_name":"Mars/Olympus"`, 422, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"id":` + jsonID(float64(900+i)) + `,"title":"Салон",` + tc.fields + `}`
			a := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons", body: body})
			require.Equal(t, tc.want, a.status, a.raw)
			if tc.field != "" {
				require.Equal(t, tc.field, a.json["field"])
			}
		})
	}
	c := do(t, srv, call{path: "/api/v1/company/904", api: true}).dataObject(t)
	require.Equal(t, 5.5, c["timezone"])
	require.Equal(t, "Asia/Kolkata", c["timezone_name"])
	c = do(t, srv, call{path: "/api/v1/company/902", api: true}).dataObject(t)
	require.Equal(t, "+1000", c["timezone"], "a given offset is answered as given")
	c = do(t, srv, call{path: "/api/v1/company/905", api: true}).dataObject(t)
	require.Equal(t, 10.0, c["timezone"], "the offset of the zone when none was given")
}

// TestControlRefusesUnknownFields: a body field that neither the fake's shape nor YClients'
// shape of the object has is refused with 400 naming it, and nothing changes.
func TestControlRefusesUnknownFields(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{EntityDelay: -1})
	before, ok := f.Record(100001, 500001)
	require.True(t, ok)
	cases := []struct {
		name, method, path, body string
		fields                   []string
	}{
		{"an edit wrapped in record", http.MethodPut, "/_fake/salons/100001/records/500001", `{"record":{"comment":"x"}}`, []string{"record"}},
		{"a typo next to a real edit", http.MethodPut, "/_fake/salons/100001/records/500001", `{"comment":"x","atendance":2}`, []string{"atendance"}},
		{"a new record's client", http.MethodPost, "/_fake/salons/100001/records",
			`{"staff_id":2001,"service_ids":[1001],"datetime":"2026-12-12 14:30:00","client":{"nmae":"Анна","phone":"79990001122"}}`, []string{"client.nmae"}},
		{"delete", http.MethodDelete, "/_fake/salons/100001/records/500001", `{"duplicates":1,"force":true}`, []string{"force"}},
		{"a client", http.MethodPost, "/_fake/salons/100001/clients", `{"name":"Вера","phone":"79165554433","duplicate":2}`, []string{"duplicate"}},
		{"a status", http.MethodPost, "/_fake/salons/100002/status", `{"status":"active","reason":"test"}`, []string{"reason"}},
		{"a lifecycle event", http.MethodPost, "/_fake/salons/100002/lifecycle", `{"event":"uninstall","salon_id":1}`, []string{"salon_id"}},
		{"a fault", http.MethodPost, "/_fake/faults", `{"status":503,"path":"/api/v1/"}`, []string{"path"}},
		{"a salon, two fields", http.MethodPost, "/_fake/salons", `{"id":77,"title":"x","zone":"Europe/Moscow","tz":3}`, []string{"tz", "zone"}},
		{"a nested service", http.MethodPost, "/_fake/salons",
			`{"id":77,"title":"x","services":[{"id":1,"title":"a"},{"id":2,"title":"b","duration_minutes":30}]}`, []string{"services[1].duration_minutes"}},
		{"a YClients service's staff entry", http.MethodPost, "/_fake/salons",
			`{"id":77,"title":"x","services":[{"id":1,"title":"a","staff":[{"id":5,"seance":60}]}]}`, []string{"services[0].staff[0].seance"}},
		{"a seeded record", http.MethodPost, "/_fake/salons", `{"id":77,"title":"x","records":[{"id":1,"client":"Анна"}]}`, []string{"records[0].client"}},
		{"the owner", http.MethodPost, "/_fake/salons", `{"id":77,"title":"x","owner":{"user_id":5}}`, []string{"owner.user_id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, srv, call{method: tc.method, path: tc.path, body: tc.body})
			require.Equal(t, http.StatusBadRequest, a.status, a.raw)
			got := []string{}
			for _, v := range a.json["fields"].([]any) {
				got = append(got, v.(string))
			}
			require.Equal(t, tc.fields, got)
			require.Contains(t, a.json["error"], tc.fields[0])
		})
	}
	after, _ := f.Record(100001, 500001)
	require.Equal(t, before, after, "the record did not change")
	_, added := f.Salon(77)
	require.False(t, added)
	require.Empty(t, f.Faults())
	require.Equal(t, "pending", f.Status(100002))
	require.Empty(t, f.Deliveries())

	t.Run("the fake's own shapes still pass", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPut, path: "/_fake/salons/100001/records/500001", body: `{"comment":"x","attendance":2,"duplicates":1}`})
		require.Equal(t, http.StatusOK, a.status, a.raw)
		a = do(t, srv, call{method: http.MethodPost, path: "/_fake/faults", body: `{"path_prefix":"/api/v1/x","status":503,"rate":1,"count":1,"retry_after":2,"html":true,"after":true,"delay_ms":1}`})
		require.Equal(t, http.StatusCreated, a.status, a.raw)
	})
}
