package texts

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseReply(t *testing.T) {
	cases := map[ReplyKind][]string{
		ReplyConfirm: {
			"да", "Да", "ДА!", "да.", " да ", "«Да»", "Да, спасибо!", "да, приду", "Да, буду 🙏", "Конечно, буду!",
			"Подтверждаю", "подтверждаю!!!", "Подтверждаю, спасибо большое", "+", "++", " + ", "👍", "👍🏻", "👍🏽👍🏽",
			"👌", "✅", "✔️", "ок", "OK", "Ok!", "хорошо", "Приду", "Придём", "всё в силе", "Да, всё в силе!",
			"Здравствуйте, да", "Добрый день! Подтверждаю", "yes", "ага",
		},
		ReplyDecline: {
			"нет", "Нет", "НЕТ.", "Не смогу", "не смогу прийти", "Не смогу прийти, извините 🙏", "не смогу, спасибо",
			"Отмена", "отменить", "Отмените, пожалуйста", "не приду", "Не получится", "нет, не смогу", "-", " - ",
			"−", "👎", "❌", "no", "Можно перенести?",
		},
		ReplyStop:  {"стоп", "Стоп", "СТОП!", "«стоп»", "stop", "STOP", "Stop.", "отписаться", "Отписка", "unsubscribe", "стоп, спасибо", "Не пишите"},
		ReplyStart: {"старт", "Старт", "СТАРТ", "start", "START", "Start!", "«старт»", "подписаться"},
		ReplyOther: {
			"", "   ", "?", "Да нет", "да, но опоздаю на 10 минут", "нет, всё в силе", "Можно на час позже?",
			"спасибо", "🙏", "Привет", "стоп да", "старт стоп", "6", "0", "10", "12:30", "1 👍", "⭐👍",
			"Здравствуйте, а можно записаться на завтра?", strings.Repeat("да ", 100),
		},
	}
	for want, texts := range cases {
		for _, text := range texts {
			got := ParseReply(text)
			require.Equal(t, want, got.Kind, "ParseReply(%q) = %+v, want %s", text, got, want)
			require.Zero(t, got.Number, "ParseReply(%q): a word has no number", text)
			require.Equal(t, want, got.AsConfirmation(), "words keep their meaning as an answer to a confirmation")
			_, isScore := got.AsScore()
			require.False(t, isScore, "ParseReply(%q) is no score", text)
		}
	}
}

func TestParseReplyNumbers(t *testing.T) {
	cases := map[string]int{
		"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, " 5 ": 5, "5!": 5, "«4»": 4, "5.": 5,
		"5️⃣": 5, "1️⃣": 1, "4/5": 4, "5 / 5": 5, "5 из 5": 5, "3 из 5": 3, "5 звёзд": 5, "4 звезды": 4,
		"Оценка 5": 5, "ставлю 5, спасибо!": 5, "5⭐": 5, "⭐⭐⭐⭐⭐": 5, "⭐️⭐️⭐️": 3, "★": 1, "🌟🌟🌟🌟": 4,
	}
	for text, n := range cases {
		got := ParseReply(text)
		require.Equal(t, Reply{Kind: ReplyNumber, Number: n}, got, "ParseReply(%q)", text)
		score, ok := got.AsScore()
		require.True(t, ok, text)
		require.Equal(t, n, score, text)
	}
	for _, text := range []string{"⭐⭐⭐⭐⭐⭐", "4 5", "5 из 5 из 5 и 4", "2 3"} {
		require.Equal(t, ReplyOther, ParseReply(text).Kind, "ParseReply(%q)", text)
	}
}

// A bare number answers whichever question the caller asked last.
func TestReplyNumberByQuestion(t *testing.T) {
	cases := []struct {
		text         string
		confirmation ReplyKind
		score        int
	}{
		{"1", ReplyConfirm, 1},
		{"2", ReplyDecline, 2},
		{"3", ReplyOther, 3},
		{"5", ReplyOther, 5},
		{"1️⃣", ReplyConfirm, 1},
		{"2!", ReplyDecline, 2},
	}
	for _, c := range cases {
		r := ParseReply(c.text)
		require.Equal(t, ReplyNumber, r.Kind, c.text)
		require.Equal(t, c.confirmation, r.AsConfirmation(), "%q to «%s»", c.text, ConfirmLine)
		score, ok := r.AsScore()
		require.True(t, ok)
		require.Equal(t, c.score, score, "%q to «оцените от 1 до 5»", c.text)
	}
}
