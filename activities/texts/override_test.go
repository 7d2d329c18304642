package texts

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRenderOverride(t *testing.T) {
	salon, full := fixture(t)
	def := func(k Kind, v Visit) string {
		t.Helper()
		text, err := Render(k, salon, v, nil)
		require.NoError(t, err)
		return text
	}
	cases := []struct {
		name     string
		kind     Kind
		visit    Visit
		override string
		want     string // "" = the default text
		bad      string // the owner-facing reason when the override is unusable
	}{
		{"good override", Confirmation, full,
			"{{.ClientName}}, ждём вас {{.When}} в «{{.SalonName}}». {{.Services}}, мастер {{.Staff}}.",
			"Анна, ждём вас в пятницу, 12 декабря, в 14:30 в «Бархат». Стрижка и Укладка, мастер Оксана.", ""},
		{"conditions and every field", Change, full,
			"{{if .ClientName}}{{.ClientName}}, з{{else}}З{{end}}дравствуйте!\n{{with .PrevWhen}}Было: {{.}}. Стало: {{$.When}}.{{else}}Запись изменена.{{end}}\n{{.Date}} / {{.Time}} / {{.Address}} / {{.Phone}} / {{.ReviewURL}}",
			"Анна, здравствуйте!\nБыло: во вторник, 9 декабря, в 12:00. Стало: в пятницу, 12 декабря, в 14:30.\nпятница, 12 декабря / 14:30 / ул. Тверская, 12 / +7 495 123-45-67 / https://yandex.ru/maps/org/1234/reviews", ""},
		{"Day says завтра only when it is", ReminderDay, full,
			"Ждём вас {{with .Day}}{{.}}, {{end}}{{.When}}", "Ждём вас завтра, в пятницу, 12 декабря, в 14:30", ""},
		{"Day is empty without a clock", ReminderDay, Visit{Start: full.Start},
			"Ждём вас {{with .Day}}{{.}}, {{end}}{{.When}}", "Ждём вас в пятницу, 12 декабря, в 14:30", ""},
		{"owner's stray whitespace is tidied", Confirmation, Visit{Start: full.Start},
			"  Здравствуйте{{with .ClientName}}, {{.}}{{end}}!   \n\n\n\nЖдём вас {{.When}}  {{.Staff}}  \n",
			"Здравствуйте!\n\nЖдём вас в пятницу, 12 декабря, в 14:30", ""},
		{"blank override is the default", Confirmation, full, " \n\t", "", ""},
		{"syntax error", Confirmation, full, "Ждём вас {{.When", "", "не закрыта команда"},
		{"unknown field", Confirmation, full, "Ждём вас {{.Time}} у {{.Master}}", "", "Неизвестное поле {{.Master}}"},
		{"unknown function", Cancellation, full, "{{upper .ClientName}}", "", "неизвестная функция «upper»"},
		{"execution error", Confirmation, full, "{{index .ClientName 99}}", "", "функция «index» вызвана неправильно"},
		{"empty result", Confirmation, Visit{Start: full.Start}, "{{.ClientName}}", "", "пустое сообщение"},
		{"too long", Confirmation, full, strings.Repeat("{{.Address}} ", 70), "", "слишком длинным"},
		{"range", Confirmation, full, "{{range 1000000000}}{{end}}x", "", "{{range}}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(c.kind, salon, c.visit, Overrides{c.kind: c.override})
			if c.bad == "" {
				require.NoError(t, err)
				want := c.want
				if want == "" {
					want = def(c.kind, c.visit)
				}
				require.Equal(t, want, got, "got:\n%s\nwant:\n%s", got, want)
				return
			}
			require.ErrorIs(t, err, ErrBadOverride)
			require.True(t, errorsIsBad(err))
			require.Contains(t, err.Error(), c.bad)
			require.Contains(t, err.Error(), string(c.kind), "the log line names the kind")
			require.Equal(t, def(c.kind, c.visit), got, "a bad override falls back to the default")
		})
	}
	t.Run("other kinds keep their defaults", func(t *testing.T) {
		got, err := Render(Cancellation, salon, full, Overrides{Confirmation: "{{.When}}"})
		require.NoError(t, err)
		require.Equal(t, def(Cancellation, full), got)
	})
	t.Run("nil overrides", func(t *testing.T) {
		got, err := Render(Confirmation, salon, full, nil)
		require.NoError(t, err)
		require.Equal(t, def(Confirmation, full), got)
	})
}

func TestOverrideCache(t *testing.T) {
	text := "Кэш: {{.When}} " + time.Now().String() // unique to this run
	t1, err := cachedCompile(text)
	require.NoError(t, err)
	t2, err := cachedCompile(text)
	require.NoError(t, err)
	require.Same(t, t1, t2, "the second lookup reuses the compiled template")

	bad := "{{.Nope}} " + time.Now().String()
	_, err1 := cachedCompile(bad)
	_, err2 := cachedCompile(bad)
	require.ErrorIs(t, err1, ErrBadOverride)
	require.Same(t, err1, err2, "a bad template is not parsed again on every send")
}

func TestRenderOverrideConcurrent(t *testing.T) {
	salon, full := fixture(t)
	o := Overrides{Confirmation: "{{.ClientName}}: {{.When}}", ReminderDay: "{{.Nope}}"}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				got, err := Render(Confirmation, salon, full, o)
				if err != nil || got != "Анна: в пятницу, 12 декабря, в 14:30" {
					t.Errorf("got %q, %v", got, err)
				}
				if _, err := Render(ReminderDay, salon, full, o); err == nil {
					t.Error("want an error for the bad override")
				}
			}
		})
	}
	wg.Wait()
}

func TestValidateTemplate(t *testing.T) {
	fields := "{{.ClientName}}, {{.When}}, {{.PrevWhen}}, {{.Date}}, {{.Time}}, {{.Services}}, {{.Staff}}, {{.SalonName}}, {{.Address}}, {{.Phone}}, {{.Day}}, {{.ReviewURL}}"
	cases := []struct {
		name, text, want string // want "" = valid
	}{
		{"blank means default", "  ", ""},
		{"plain text", "Ждём вас!", ""},
		{"fields", "{{.ClientName}}, ждём вас {{.When}}{{with .Staff}}, мастер {{.}}{{end}}.", ""},
		{"pipes and comments", `{{/* заметка */}}{{.When | printf "%s!"}}`, ""},
		{"$ inside with", "{{with .Staff}}{{$.ClientName}}, мастер {{.}}{{end}}", ""},
		{"unknown field", "{{.Master}}", "Неизвестное поле {{.Master}}. Можно использовать: " + fields + "."},
		{"wrong case", "{{.clientName}}", "Неизвестное поле {{.clientName}}. Возможно, имелось в виду {{.ClientName}}."},
		{"unknown field in else", "{{if .Staff}}x{{else}}{{.Nope}}{{end}}", "Неизвестное поле {{.Nope}}. Можно использовать: " + fields + "."},
		{"unknown field via $", "{{$.Nope}}", "Неизвестное поле {{.Nope}}. Можно использовать: " + fields + "."},
		{"field of a field", "{{.Staff.Name}}", "Неизвестное поле {{.Staff.Name}}. Можно использовать: " + fields + "."},
		{"field inside with", "{{with .Staff}}{{.ClientName}}{{end}}", "Ошибка в шаблоне, строка 1: внутри {{with}} поле пишется через $: {{$.ClientName}}."},
		{"unclosed action", "Ждём\nвас {{.When", "Ошибка в шаблоне, строка 2: не закрыта команда — проверьте, что у каждой «{{» есть «}}», а у каждого {{if}} и {{with}} есть {{end}}."},
		{"missing end", "{{if .Staff}}мастер", "Ошибка в шаблоне, строка 1: не закрыта команда — проверьте, что у каждой «{{» есть «}}», а у каждого {{if}} и {{with}} есть {{end}}."},
		{"extra end", "Привет{{end}}", "Ошибка в шаблоне, строка 1: лишний {{end}}."},
		{"else without if", "{{else}}", "Ошибка в шаблоне, строка 1: {{else}} без {{if}}."},
		{"unknown function", "{{upper .When}}", "Ошибка в шаблоне, строка 1: неизвестная функция «upper»."},
		{"empty action", "{{}}", "Ошибка в шаблоне, строка 1: пустая команда — внутри «{{ }}» нужно поле, например {{.ClientName}}."},
		{"stray brace", "{{ .When } }", `Ошибка в шаблоне, строка 1: неожиданный символ "}" внутри «{{ }}».`},
		{"bad character", "a\n{{.When}\n", "Ошибка в шаблоне, строка 2: недопустимый символ внутри «{{ }}». Поля пишутся так: {{.ClientName}}."},
		{"paren", "{{ .When ) }}", "Ошибка в шаблоне, строка 1: лишняя или незакрытая круглая скобка."},
		{"quote", `{{ "abc }}`, "Ошибка в шаблоне, строка 1: не закрыта кавычка."},
		{"comment", "{{/* x }}", "Ошибка в шаблоне, строка 1: не закрыт комментарий — он пишется так: {{/* текст */}}."},
		{"bad call", "{{index .ClientName 10}}", "Ошибка в шаблоне, строка 1: функция «index» вызвана неправильно."},
		{"arguments to a field", "{{.When 1}}", "Ошибка в шаблоне, строка 1: после {{.When}} лишние слова — поле пишется без аргументов."},
		{"range", "{{range .Services}}{{.}}{{end}}", "В шаблоне нельзя использовать {{range}}: все поля — готовый текст."},
		{"define", `{{define "x"}}a{{end}}{{template "x"}}`, "В шаблоне нельзя использовать {{define}} и {{block}}."},
		{"template", `{{template "x"}}`, "В шаблоне нельзя использовать {{template}}."},
		{"unknown field in a condition", "{{if .Nope2}}{{end}}", "Неизвестное поле {{.Nope2}}. Можно использовать: " + fields + "."},
		{"empty message", "{{if .PrevWhen}}{{else}}{{end}}", "По шаблону получается пустое сообщение."},
		{"long message", `{{printf "%01200d" 1}}`, "Сообщение по шаблону получается слишком длинным: 1200 символов, можно не больше 1000."},
		{"runaway message", `{{printf "%0999999d" 1}}`, "Сообщение по шаблону получается слишком длинным, можно не больше 1000 символов."},
		{"long template", strings.Repeat("а", 2001), "Шаблон слишком длинный: 2001 символ, можно не больше 2000."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateTemplate(c.text)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBadOverride)
			require.Equal(t, c.want, err.Error())
		})
	}
}

// Every field of Data is accepted by ValidateTemplate and named in its messages.
func TestDataFieldsListed(t *testing.T) {
	for f := range dataFields {
		require.NoError(t, ValidateTemplate("{{."+f+"}} ok"), f)
	}
	require.Len(t, dataFields, 12)
}
