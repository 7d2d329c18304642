package texts

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ReplyKind is what a client's reply means on its own. The values are stable strings, fit for
// logs.
type ReplyKind string

// The kinds of replies. Only short, unambiguous replies get a meaning; anything else is
// ReplyOther and stays with the salon, which sees the chat on its own phone.
const (
	ReplyOther   ReplyKind = "other"   // anything else, or words that contradict each other («да нет»)
	ReplyConfirm ReplyKind = "confirm" // «да», «подтверждаю», «+», 👍, «да, приду, спасибо»
	ReplyDecline ReplyKind = "decline" // «нет», «не смогу», «отмена», «-»
	ReplyStop    ReplyKind = "stop"    // «стоп», STOP, «отписаться»: opt out (OptOutAck)
	ReplyStart   ReplyKind = "start"   // «старт», START: opt back in (StartAck)
	ReplyNumber  ReplyKind = "number"  // a bare 1–5 («5», «5!», 5️⃣, «4/5», «5 звёзд», ⭐⭐⭐): see Reply
)

// Reply is a client's classified reply.
//
// A bare number means nothing on its own: «1» and «2» answer ConfirmLine, «1»…«5» answer a
// ReviewRequest. ParseReply returns such a reply as ReplyNumber with the number, and the
// caller, who knows which question it asked last, reads it with AsConfirmation or AsScore.
// A number nobody asked for is left to the salon like ReplyOther.
type Reply struct {
	Kind   ReplyKind
	Number int // 1–5 when Kind is ReplyNumber, else 0
}

// AsConfirmation reads the reply as an answer to ConfirmLine: «1» confirms, «2» declines,
// another number means nothing (ReplyOther); words keep their meaning (Kind).
func (r Reply) AsConfirmation() ReplyKind {
	if r.Kind != ReplyNumber {
		return r.Kind
	}
	switch r.Number {
	case 1:
		return ReplyConfirm
	case 2:
		return ReplyDecline
	}
	return ReplyOther
}

// AsScore reads the reply as an answer to ReviewRequest: the score 1–5, or false when the
// reply is not a number.
func (r Reply) AsScore() (int, bool) {
	return r.Number, r.Kind == ReplyNumber
}

// replyNeutral marks the words that carry no meaning alone and do not change another's:
// «спасибо», greetings, «звёзд» after a score.
const replyNeutral ReplyKind = ""

// replyPhrases maps the normalised words of a reply (lower case, ё as е, no punctuation, each
// emoji its own word) to their meaning. Phrases are up to three words; the longest wins.
var replyPhrases = map[string]ReplyKind{
	"да": ReplyConfirm, "yes": ReplyConfirm, "ок": ReplyConfirm, "ok": ReplyConfirm, "okay": ReplyConfirm,
	"окей": ReplyConfirm, "хорошо": ReplyConfirm, "конечно": ReplyConfirm, "обязательно": ReplyConfirm,
	"подтверждаю": ReplyConfirm, "подтверждаем": ReplyConfirm, "подтверждено": ReplyConfirm,
	"приду": ReplyConfirm, "придем": ReplyConfirm, "буду": ReplyConfirm, "будем": ReplyConfirm,
	"смогу": ReplyConfirm, "ага": ReplyConfirm, "угу": ReplyConfirm, "в силе": ReplyConfirm, "все в силе": ReplyConfirm,
	"+": ReplyConfirm, "👍": ReplyConfirm, "👌": ReplyConfirm, "✅": ReplyConfirm, "✔": ReplyConfirm, "☑": ReplyConfirm, "🆗": ReplyConfirm,

	"нет": ReplyDecline, "no": ReplyDecline, "не смогу": ReplyDecline, "не сможем": ReplyDecline,
	"не смогу прийти": ReplyDecline, "не сможем прийти": ReplyDecline, "не приду": ReplyDecline,
	"не придем": ReplyDecline, "не получится": ReplyDecline, "не буду": ReplyDecline, "не успеваю": ReplyDecline,
	"отмена": ReplyDecline, "отменить": ReplyDecline, "отмените": ReplyDecline, "отменяю": ReplyDecline,
	"перенести": ReplyDecline, "перенесите": ReplyDecline, "можно перенести": ReplyDecline,
	"👎": ReplyDecline, "❌": ReplyDecline, "−": ReplyDecline,

	"стоп": ReplyStop, "stop": ReplyStop, "отписаться": ReplyStop, "отписка": ReplyStop,
	"отпишите": ReplyStop, "unsubscribe": ReplyStop, "не пишите": ReplyStop,

	"старт": ReplyStart, "start": ReplyStart, "подписаться": ReplyStart,

	"спасибо": replyNeutral, "спс": replyNeutral, "благодарю": replyNeutral, "большое": replyNeutral,
	"пожалуйста": replyNeutral, "извините": replyNeutral, "простите": replyNeutral, "здравствуйте": replyNeutral, "привет": replyNeutral,
	"добрый день": replyNeutral, "добрый вечер": replyNeutral, "доброе утро": replyNeutral,
	"из 5": replyNeutral, "звезд": replyNeutral, "звезды": replyNeutral, "звезда": replyNeutral,
	"балл": replyNeutral, "балла": replyNeutral, "баллов": replyNeutral, "оценка": replyNeutral, "ставлю": replyNeutral,
	"🙏": replyNeutral, "❤": replyNeutral, "♥": replyNeutral, "😊": replyNeutral, "🙂": replyNeutral,
	"☺": replyNeutral, "🤗": replyNeutral, "🌹": replyNeutral, "💐": replyNeutral, "🌸": replyNeutral,
}

// maxReplyLen: a longer message is a conversation, not an answer.
const maxReplyLen = 200

// outOfFive turns «4/5» into «4 из 5» before the slash is dropped as punctuation.
var outOfFive = regexp.MustCompile(`(\d)\s*/\s*5`)

// ParseReply classifies a client's message, ignoring case, punctuation, spaces, emoji
// variants and skin tones, and politeness around the answer («Да, спасибо!» confirms).
// «стоп» always means ReplyStop and «старт» ReplyStart. A reply is classified only when every
// word in it agrees; see Reply for numbers.
func ParseReply(text string) Reply {
	text = strings.TrimSpace(text)
	if text == "" || utf8.RuneCountInString(text) > maxReplyLen {
		return Reply{Kind: ReplyOther}
	}
	if strings.Trim(text, "-–− ") == "" { // «-», the «+»'s opposite
		return Reply{Kind: ReplyDecline}
	}
	words, stars := replyWords(outOfFive.ReplaceAllString(text, "$1 из 5"))
	kind, number := classifyWords(words)
	switch {
	case kind == replyNeutral && number == 0 && stars >= 1 && stars <= 5: // ⭐⭐⭐⭐
		return Reply{Kind: ReplyNumber, Number: stars}
	case kind == ReplyNumber:
		return Reply{Kind: ReplyNumber, Number: number}
	case kind == replyNeutral || stars > 0:
		return Reply{Kind: ReplyOther}
	}
	return Reply{Kind: kind}
}

// replyWords splits a reply into normalised words (each emoji one word, a run of «+» one «+»)
// and counts the stars apart.
func replyWords(text string) (words []string, stars int) {
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case r == '\uFE0E' || r == '\uFE0F' || r == '\u20E3' || r == '\u200D' || r >= 0x1F3FB && r <= 0x1F3FF:
			// emoji variation, keycap (5️⃣ is 5), joiner, skin tone: no meaning of their own
		case r == '+':
			if b.String() != "+" {
				flush()
				b.WriteRune('+')
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if b.String() == "+" {
				flush()
			}
			if r == 'ё' {
				r = 'е'
			}
			b.WriteRune(r)
		case r == '⭐' || r == '★' || r == '🌟':
			flush()
			stars++
		case unicode.IsSymbol(r):
			flush()
			words = append(words, string(r))
		default: // spaces and punctuation
			flush()
		}
	}
	flush()
	return words, stars
}

// classifyWords gives the one meaning all words agree on (replyNeutral when none has one),
// or ReplyOther. A number 1–5 is ReplyNumber; the same number twice («5/5») is still one.
func classifyWords(words []string) (ReplyKind, int) {
	kind, number := replyNeutral, 0
	for i := 0; i < len(words); {
		k, n := matchPhrase(words[i:])
		if n == 0 {
			v, err := strconv.Atoi(words[i])
			if err != nil || v < 1 || v > 5 || number != 0 && number != v {
				return ReplyOther, 0
			}
			k, n, number = ReplyNumber, 1, v
		}
		i += n
		if k == replyNeutral {
			continue
		}
		if kind != replyNeutral && kind != k {
			return ReplyOther, 0
		}
		kind = k
	}
	return kind, number
}

// matchPhrase finds the longest phrase of replyPhrases that words start with; n is 0 for none.
func matchPhrase(words []string) (kind ReplyKind, n int) {
	for n = min(3, len(words)); n > 0; n-- {
		if k, ok := replyPhrases[strings.Join(words[:n], " ")]; ok {
			return k, n
		}
	}
	return ReplyOther, 0
}
