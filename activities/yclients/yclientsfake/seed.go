package yclientsfake

import "time"

// Demo salon IDs seeded by SeedDemo.
const (
	// DemoSalonMoscow is «Салон красоты "Бархат"», Москва (Europe/Moscow): 21 services,
	// 5 staff, a few records.
	DemoSalonMoscow int64 = 100001
	// DemoSalonVladivostok is «Студия красоты "Приморье"», Владивосток (Asia/Vladivostok).
	DemoSalonVladivostok int64 = 100002
	// DemoSalonKaliningrad is «Beauty-бар "Янтарь"», Калининград (Europe/Kaliningrad).
	DemoSalonKaliningrad int64 = 100003
)

// DemoSalonIDs returns the IDs SeedDemo adds.
func DemoSalonIDs() []int64 {
	return []int64{DemoSalonMoscow, DemoSalonVladivostok, DemoSalonKaliningrad}
}

// SeedDemo adds the demo salons, all pending (as if each owner had just clicked "Подключить").
// Schedules follow weekly patterns, so any requested dates (e.g. the next 14 days) have working
// days and days off; records are placed around Now.
func (f *Fake) SeedDemo() {
	now := f.now()
	for _, s := range []Salon{moscowSalon(now), vladivostokSalon(now), kaliningradSalon(now)} {
		f.AddSalon(s)
	}
}

var (
	weekdays  = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	tueToSat  = []time.Weekday{time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	wedToSun  = []time.Weekday{time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	nailsDays = []time.Weekday{time.Monday, time.Tuesday, time.Thursday, time.Friday, time.Saturday}
	browsDays = []time.Weekday{time.Monday, time.Wednesday, time.Friday, time.Saturday, time.Sunday}
)

// at returns the salon-local time days from now's date at hh:mm.
func at(now time.Time, loc *time.Location, days, hh, mm int) time.Time {
	d := now.In(loc)
	return time.Date(d.Year(), d.Month(), d.Day()+days, hh, mm, 0, 0, loc)
}

func svc(id int64, title string, cat int64, minP, maxP float64, minutes int, staff ...int64) Service {
	return Service{ID: id, Title: title, CategoryID: cat, PriceMin: minP, PriceMax: maxP,
		DurationSeconds: minutes * 60, Active: true, StaffIDs: staff}
}

func moscowSalon(now time.Time) Salon {
	loc := mustLoad("Europe/Moscow")
	services := []Service{
		svc(1001, "Женская стрижка", 501, 2500, 3500, 60, 2001, 2003),
		svc(1002, "Мужская стрижка", 501, 1800, 1800, 45, 2001, 2002),
		svc(1003, "Детская стрижка", 501, 1200, 1200, 30, 2001, 2002),
		svc(1004, "Стрижка чёлки", 501, 500, 500, 15, 2001, 2003),
		svc(1005, "Моделирование бороды", 501, 1000, 1200, 30, 2002),
		svc(1006, "Окрашивание в один тон", 502, 4500, 7000, 120, 2003),
		svc(1007, "Мелирование", 502, 5500, 9000, 150, 2003),
		svc(1008, "Балаяж", 502, 8000, 12000, 180, 2003),
		svc(1009, "Тонирование волос", 502, 3000, 4500, 60, 2003, 2001),
		svc(1010, "Укладка феном", 503, 1500, 2500, 45, 2001, 2003),
		svc(1011, "Вечерняя причёска", 503, 3500, 5000, 90, 2001),
		svc(1012, "Маникюр классический", 504, 1500, 1500, 60, 2004),
		svc(1013, "Маникюр с покрытием гель-лак", 504, 2500, 2500, 90, 2004),
		svc(1014, "Снятие гель-лака", 504, 500, 500, 20, 2004),
		svc(1015, "Педикюр классический", 505, 2500, 2500, 75, 2004),
		svc(1016, "Педикюр с покрытием гель-лак", 505, 3200, 3200, 105, 2004),
		svc(1017, "Коррекция бровей", 506, 800, 800, 30, 2005),
		svc(1018, "Окрашивание бровей", 506, 700, 700, 30, 2005),
		svc(1019, "Ламинирование ресниц", 506, 2800, 2800, 75, 2005),
		svc(1020, "Уход для волос Olaplex", 507, 3000, 4000, 45, 2001, 2003),
		svc(1021, "Наращивание ресниц", 506, 3500, 4500, 150, 2005),
	}
	services[20].Active = false // temporarily not offered
	vacation := at(now, loc, 3, 0, 0).Format(time.DateOnly)
	return Salon{
		ID: DemoSalonMoscow, Title: `Салон красоты "Бархат"`, ShortDescr: "Салон красоты",
		Phone: "+7 495 123-45-67", Email: "hello@barhat-salon.ru",
		Address: "ул. Тверская, д. 12, стр. 1", City: "Москва", Timezone: "Europe/Moscow",
		Owner: Owner{ID: 9000001, Name: "Ирина Петрова", Phone: "79161234567",
			Email: "owner@barhat-salon.ru", IsApproved: true,
			Avatar: "https://assets.yclients.com/main_service_image/basic/no-avatar.png"},
		Services: services,
		Staff: []Staff{
			{ID: 2001, Name: "Анна Смирнова", Specialization: "Парикмахер-стилист", Position: "Стилист",
				Bookable: true, WorkDays: weekdays, ShiftFrom: "10:00", ShiftTo: "20:00",
				BreakFrom: "14:00", BreakTo: "15:00", DaysOff: []string{vacation}},
			{ID: 2002, Name: "Дмитрий Козлов", Specialization: "Барбер", Position: "Барбер",
				Bookable: true, WorkDays: tueToSat, ShiftFrom: "11:00", ShiftTo: "21:00"},
			{ID: 2003, Name: "Елена Волкова", Specialization: "Колорист", Position: "Старший мастер",
				Bookable: true, WorkDays: wedToSun, ShiftFrom: "10:00", ShiftTo: "19:00"},
			{ID: 2004, Name: "Ольга Морозова", Specialization: "Мастер маникюра и педикюра",
				Position: "Мастер ногтевого сервиса", Bookable: true, WorkDays: nailsDays,
				ShiftFrom: "09:00", ShiftTo: "18:00", BreakFrom: "13:00", BreakTo: "13:30"},
			{ID: 2005, Name: "Мария Лебедева", Specialization: "Бровист, лашмейкер", Position: "Мастер-бровист",
				Bookable: true, WorkDays: browsDays, ShiftFrom: "12:00", ShiftTo: "20:00"},
		},
		Records: []Record{
			{ID: 500001, StaffID: 2001, ServiceIDs: []int64{1001}, ClientID: 800001, ClientName: "Ксения Орлова",
				ClientPhone: "79031112233", ClientEmail: "ksenia.orlova@example.ru",
				Datetime: at(now, loc, 1, 12, 0), SeanceLength: 3600, CreatedAt: now.Add(-48 * time.Hour), ChangedAt: now.Add(-time.Hour)},
			{ID: 500002, StaffID: 2004, ServiceIDs: []int64{1013}, ClientID: 800002, ClientName: "Наталья Соколова",
				ClientPhone: "79269876543", Datetime: at(now, loc, 1, 15, 0), SeanceLength: 5400,
				Comment: "Нюдовый оттенок", CreatedAt: now.Add(-30 * time.Hour), ChangedAt: now.Add(-30 * time.Hour)},
			{ID: 500003, StaffID: 2002, ServiceIDs: []int64{1002, 1005}, ClientID: 800003, ClientName: "Алексей Иванов",
				ClientPhone: "79161230000", Datetime: at(now, loc, 2, 11, 0), SeanceLength: 4500, Attendance: 2,
				CreatedAt: now.Add(-72 * time.Hour), ChangedAt: now.Add(-2 * time.Hour)},
			{ID: 500004, StaffID: 2005, ServiceIDs: []int64{1017}, Datetime: at(now, loc, -1, 16, 0), SeanceLength: 1800,
				Comment: "Время заблокировано", CreatedAt: now.Add(-96 * time.Hour), ChangedAt: now.Add(-96 * time.Hour)},
			{ID: 500005, StaffID: 2003, ServiceIDs: []int64{1006}, ClientID: 800004, ClientName: "Екатерина Новикова",
				ClientPhone: "79057654321", Datetime: at(now, loc, 3, 13, 0), SeanceLength: 7200, Deleted: true,
				Comment: "Клиент отменил", CreatedAt: now.Add(-120 * time.Hour), ChangedAt: now.Add(-5 * time.Hour)},
		},
	}
}

func vladivostokSalon(now time.Time) Salon {
	loc := mustLoad("Asia/Vladivostok")
	return Salon{
		ID: DemoSalonVladivostok, Title: `Студия красоты "Приморье"`, ShortDescr: "Студия красоты",
		Phone: "+7 423 222-33-44", Email: "studio@primorye-beauty.ru",
		Address: "ул. Светланская, д. 29", City: "Владивосток", Timezone: "Asia/Vladivostok",
		Owner: Owner{ID: 9000002, Name: "Ольга Ким", Phone: "79142223344", Email: "owner@primorye-beauty.ru", IsApproved: true},
		Services: []Service{
			svc(3001, "Женская стрижка", 511, 2000, 3000, 60, 4001),
			svc(3002, "Мужская стрижка", 511, 1500, 1500, 45, 4001),
			svc(3003, "Маникюр с покрытием гель-лак", 512, 2200, 2200, 90, 4002),
			svc(3004, "Педикюр классический", 512, 2600, 2600, 75, 4002),
			svc(3005, "Окрашивание бровей", 513, 600, 600, 30, 4002),
		},
		Staff: []Staff{
			{ID: 4001, Name: "Светлана Ким", Specialization: "Парикмахер", Position: "Стилист",
				Bookable: true, WorkDays: weekdays, ShiftFrom: "09:00", ShiftTo: "18:00"},
			{ID: 4002, Name: "Юлия Пак", Specialization: "Мастер маникюра", Position: "Мастер ногтевого сервиса",
				Bookable: true, WorkDays: tueToSat, ShiftFrom: "10:00", ShiftTo: "19:00"},
		},
		Records: []Record{
			{ID: 600001, StaffID: 4002, ServiceIDs: []int64{3003}, ClientID: 810001, ClientName: "Анна Ли",
				ClientPhone: "79241112233", Datetime: at(now, loc, 1, 10, 0), SeanceLength: 5400,
				CreatedAt: now.Add(-24 * time.Hour), ChangedAt: now.Add(-24 * time.Hour)},
		},
	}
}

func kaliningradSalon(now time.Time) Salon {
	loc := mustLoad("Europe/Kaliningrad")
	return Salon{
		ID: DemoSalonKaliningrad, Title: `Beauty-бар "Янтарь"`, ShortDescr: "Бьюти-бар",
		Phone: "+7 4012 55-66-77", Email: "bar@yantar-beauty.ru",
		Address: "Ленинский пр-т, д. 30", City: "Калининград", Timezone: "Europe/Kaliningrad",
		Owner: Owner{ID: 9000003, Name: "Марина Шульц", Phone: "79062223344", Email: "owner@yantar-beauty.ru", IsApproved: true},
		Services: []Service{
			svc(5001, "Экспресс-маникюр", 521, 1200, 1200, 40, 6001),
			svc(5002, "Укладка", 522, 1800, 2500, 45, 6001),
			svc(5003, "Мужская стрижка", 522, 1600, 1600, 45, 6002),
			svc(5004, "Стрижка машинкой", 522, 900, 900, 20, 6002),
		},
		Staff: []Staff{
			{ID: 6001, Name: "Анастасия Шульц", Specialization: "Универсальный мастер", Position: "Мастер",
				Bookable: true, WorkDays: wedToSun, ShiftFrom: "10:00", ShiftTo: "20:00"},
			{ID: 6002, Name: "Игорь Бергер", Specialization: "Барбер", Position: "Барбер",
				Bookable: true, WorkDays: weekdays, ShiftFrom: "12:00", ShiftTo: "21:00", BreakFrom: "16:00", BreakTo: "16:30"},
		},
		Records: []Record{
			{ID: 700001, StaffID: 6002, ServiceIDs: []int64{5003}, ClientID: 820001, ClientName: "Павел Фогель",
				ClientPhone: "79113334455", Datetime: at(now, loc, 2, 18, 0), SeanceLength: 2700,
				CreatedAt: now.Add(-6 * time.Hour), ChangedAt: now.Add(-6 * time.Hour)},
		},
	}
}
