package texts

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"
)

// maxOutputBytes stops a runaway override (printf "%0999999d") long before it costs memory;
// anything near it is far over MaxMessageLen anyway.
const maxOutputBytes = 8 << 10

// overrideError is an override problem worded for the salon owner. errors.Is(err,
// ErrBadOverride) holds for every one of them.
type overrideError struct {
	msg   string
	cause error // the text/template error, if any, for logs and errors.As
}

func (e *overrideError) Error() string        { return e.msg }
func (e *overrideError) Unwrap() error        { return e.cause }
func (e *overrideError) Is(target error) bool { return target == ErrBadOverride }

func symbols(n int) string { return plural(n, "символ", "символа", "символов") }

func badOverride(cause error, format string, args ...any) error {
	return &overrideError{msg: fmt.Sprintf(format, args...), cause: cause}
}

// compiled is one cached parse: the template or why it cannot be used.
type compiled struct {
	tmpl *template.Template
	err  error
}

// cache maps override text to *compiled. Overrides come from salon settings, so there are few
// distinct texts; ValidateTemplate, fed by owners' drafts, does not use it.
var cache sync.Map

func cachedCompile(text string) (*template.Template, error) {
	if c, ok := cache.Load(text); ok {
		return c.(*compiled).tmpl, c.(*compiled).err
	}
	t, err := compile(text)
	c, _ := cache.LoadOrStore(text, &compiled{tmpl: t, err: err})
	return c.(*compiled).tmpl, c.(*compiled).err
}

// renderOverride runs a salon's template over d and returns the tidied text.
func renderOverride(text string, d Data) (string, error) {
	t, err := cachedCompile(text)
	if err != nil {
		return "", err
	}
	return execute(t, d)
}

// ValidateTemplate checks an owner's override before it is saved: it must parse, use only the
// fields of Data, give a non-empty message under MaxMessageLen for a full sample visit, and
// also execute for a visit with every optional field empty. The error, wrapping
// ErrBadOverride, is Russian text fit to show the owner as is. A blank text is valid: it
// means the default.
func ValidateTemplate(text string) error {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	t, err := compile(text)
	if err != nil {
		return err
	}
	if _, err := execute(t, sampleData); err != nil {
		return err
	}
	// Every optional field empty: exercises the {{else}} branches. An empty result is the
	// owner's choice here (for example a text of only {{.ClientName}}), but a failure is not.
	var sb limitedBuffer
	if err := t.Execute(&sb, sparseSampleData); err != nil {
		return execError(err)
	}
	return nil
}

// sampleData is a full visit, as a client would see it the day before: Sample's.
var sampleData = func() Data {
	salon, v := Sample(time.Date(2025, 12, 11, 10, 0, 0, 0, time.UTC))
	return newMessage(salon, v).Data
}()

// sparseSampleData has only what every visit message has.
var sparseSampleData = Data{When: sampleData.When, Date: sampleData.Date, Time: sampleData.Time}

// compile parses an override and rejects what has no place in a message: fields Data does
// not have, loops (an owner's {{range 1000000000}} would spin a worker), and nested templates.
func compile(text string) (*template.Template, error) {
	if n := utf8.RuneCountInString(text); n > MaxTemplateLen {
		return nil, badOverride(nil, "Шаблон слишком длинный: %d %s, можно не больше %d.", n, symbols(n), MaxTemplateLen)
	}
	t, err := template.New("override").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, parseError(err)
	}
	if len(t.Templates()) > 1 {
		return nil, badOverride(nil, "В шаблоне нельзя использовать {{define}} и {{block}}.")
	}
	if err := checkNode(t.Tree.Root); err != nil {
		return nil, err
	}
	return t, nil
}

// checkNode walks the parse tree: only text, conditions and fields of Data are allowed.
func checkNode(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNode(c); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return checkNode(n.Pipe)
	case *parse.IfNode:
		return checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return badOverride(nil, "В шаблоне нельзя использовать {{range}}: все поля — готовый текст.")
	case *parse.TemplateNode:
		return badOverride(nil, "В шаблоне нельзя использовать {{template}}.")
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := checkNode(c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if err := checkNode(a); err != nil {
				return err
			}
		}
	case *parse.FieldNode:
		return checkField(n.Ident)
	case *parse.VariableNode: // $.Field
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			return checkField(n.Ident[1:])
		}
	case *parse.ChainNode:
		if err := checkNode(n.Node); err != nil {
			return err
		}
		return unknownField(strings.Join(n.Field, "."))
	}
	return nil
}

func checkBranch(b *parse.BranchNode) error {
	for _, n := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if err := checkNode(n); err != nil {
			return err
		}
	}
	return nil
}

// checkField accepts .ClientName and the like; every field is a string, so nothing deeper.
func checkField(ident []string) error {
	if len(ident) == 1 && dataFields[ident[0]] {
		return nil
	}
	return unknownField(strings.Join(ident, "."))
}

// dataFields and dataFieldList are the names of Data's fields, for checks and messages.
var dataFields, dataFieldList = func() (map[string]bool, string) {
	typ := reflect.TypeFor[Data]()
	set := make(map[string]bool, typ.NumField())
	names := make([]string, 0, typ.NumField())
	for f := range typ.Fields() {
		set[f.Name] = true
		names = append(names, "{{."+f.Name+"}}")
	}
	return set, strings.Join(names, ", ")
}()

func unknownField(name string) error {
	for f := range dataFields {
		if strings.EqualFold(f, name) {
			return badOverride(nil, "Неизвестное поле {{.%s}}. Возможно, имелось в виду {{.%s}}.", name, f)
		}
	}
	return badOverride(nil, "Неизвестное поле {{.%s}}. Можно использовать: %s.", name, dataFieldList)
}

// execute runs a compiled override and tidies what the owner's text left: spaces at line
// ends, doubled spaces, runs of empty lines.
func execute(t *template.Template, d Data) (string, error) {
	var b limitedBuffer
	if err := t.Execute(&b, d); err != nil {
		return "", execError(err)
	}
	out := tidy(b.String())
	if out == "" {
		return "", badOverride(nil, "По шаблону получается пустое сообщение.")
	}
	if n := utf8.RuneCountInString(out); n > MaxMessageLen {
		return "", badOverride(nil, "Сообщение по шаблону получается слишком длинным: %d %s, можно не больше %d.", n, symbols(n), MaxMessageLen)
	}
	return out, nil
}

var (
	spaces     = regexp.MustCompile(`[ \t]+`)
	blankLines = regexp.MustCompile(`\n{3,}`)
)

// tidy keeps the owner's paragraphs (one empty line at most) but drops stray whitespace.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	ls := strings.Split(s, "\n")
	for i, l := range ls {
		ls[i] = strings.TrimSpace(spaces.ReplaceAllString(l, " "))
	}
	s = blankLines.ReplaceAllString(strings.Join(ls, "\n"), "\n\n")
	return strings.TrimSpace(s)
}

// errOutputTooLong stops execution once the output passes maxOutputBytes.
var errOutputTooLong = errors.New("texts: override output too long")

type limitedBuffer struct{ strings.Builder }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxOutputBytes {
		return 0, errOutputTooLong
	}
	return b.Builder.Write(p)
}

// text/template errors look like «template: override:2:5: executing "override" at <.Foo>:
// can't evaluate field Foo in type texts.Data» or «template: override:1: unexpected EOF».
var (
	errLineRe      = regexp.MustCompile(`^template: override:(\d+)(?::\d+)?: (?:executing "[^"]*" at <[^>]*>: )?(.*)$`)
	funcRe         = regexp.MustCompile(`^function "([^"]+)" not defined$`)
	fieldRe        = regexp.MustCompile(`can't evaluate field (\w+)`)
	unexpectedRe   = regexp.MustCompile(`^unexpected (.+?) in (\w+)$`)
	badCharacterRe = regexp.MustCompile(`^bad character (U\+[0-9A-F]+)`)
	callRe         = regexp.MustCompile(`^(?:error calling (\w+)|wrong number of args for (\w+))`)
	argsRe         = regexp.MustCompile(`^(\w+) has arguments but cannot be invoked as function`)
)

// splitTemplateError returns the line number ("" if unknown) and the bare message.
func splitTemplateError(err error) (line, detail string) {
	if m := errLineRe.FindStringSubmatch(err.Error()); m != nil {
		return m[1], m[2]
	}
	return "", err.Error()
}

func where(line string) string {
	if line == "" {
		return "Ошибка в шаблоне"
	}
	return "Ошибка в шаблоне, строка " + line
}

// parseError words a text/template parse error for the owner.
func parseError(err error) error {
	line, detail := splitTemplateError(err)
	switch {
	case funcRe.MatchString(detail):
		return badOverride(err, "%s: неизвестная функция «%s».", where(line), funcRe.FindStringSubmatch(detail)[1])
	case strings.HasPrefix(detail, "unexpected EOF"), strings.HasPrefix(detail, "unclosed action"):
		return badOverride(err, "%s: не закрыта команда — проверьте, что у каждой «{{» есть «}}», а у каждого {{if}} и {{with}} есть {{end}}.", where(line))
	case strings.HasPrefix(detail, "unexpected {{end}}"):
		return badOverride(err, "%s: лишний {{end}}.", where(line))
	case strings.HasPrefix(detail, "unexpected {{else}}"):
		return badOverride(err, "%s: {{else}} без {{if}}.", where(line))
	case strings.HasPrefix(detail, "missing value for"):
		return badOverride(err, "%s: пустая команда — внутри «{{ }}» нужно поле, например {{.ClientName}}.", where(line))
	case badCharacterRe.MatchString(detail):
		return badOverride(err, "%s: недопустимый символ внутри «{{ }}». Поля пишутся так: {{.ClientName}}.", where(line))
	case strings.Contains(detail, "paren"):
		return badOverride(err, "%s: лишняя или незакрытая круглая скобка.", where(line))
	case strings.HasPrefix(detail, "unterminated"):
		return badOverride(err, "%s: не закрыта кавычка.", where(line))
	case strings.HasPrefix(detail, "unclosed comment"):
		return badOverride(err, "%s: не закрыт комментарий — он пишется так: {{/* текст */}}.", where(line))
	case unexpectedRe.MatchString(detail):
		return badOverride(err, "%s: неожиданный символ %s внутри «{{ }}».", where(line), unexpectedRe.FindStringSubmatch(detail)[1])
	}
	return badOverride(err, "%s: %s.", where(line), detail)
}

// execError words a text/template execution error for the owner.
func execError(err error) error {
	if errors.Is(err, errOutputTooLong) {
		return badOverride(err, "Сообщение по шаблону получается слишком длинным, можно не больше %d символов.", MaxMessageLen)
	}
	line, detail := splitTemplateError(err)
	if m := fieldRe.FindStringSubmatch(detail); m != nil {
		if dataFields[m[1]] { // inside {{with .X}} the dot is X itself, not Data
			return badOverride(err, "%s: внутри {{with}} поле пишется через $: {{$.%s}}.", where(line), m[1])
		}
		e := unknownField(m[1]).(*overrideError)
		e.cause = err
		return e
	}
	if m := callRe.FindStringSubmatch(detail); m != nil {
		return badOverride(err, "%s: функция «%s» вызвана неправильно.", where(line), m[1]+m[2])
	}
	if m := argsRe.FindStringSubmatch(detail); m != nil {
		return badOverride(err, "%s: после {{.%s}} лишние слова — поле пишется без аргументов.", where(line), m[1])
	}
	// Rare: keep the original words so support can tell what happened.
	return badOverride(err, "%s: шаблон не удаётся заполнить (%s).", where(line), detail)
}
