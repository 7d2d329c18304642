package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// logSizes is how far each of the cluster's logs has got, to read what follows.
func (s *chaosSuite) logSizes() map[string]int64 {
	out := map[string]int64{}
	logs, _ := filepath.Glob(filepath.Join(s.c.opts.Dir, "*.log"))
	for _, l := range logs {
		if fi, err := os.Stat(l); err == nil {
			out[l] = fi.Size()
		}
	}
	return out
}

var panicRE = regexp.MustCompile(`(?i)\bpanic`)

// panicsSince lists the log lines mentioning a panic written after the given sizes.
func (s *chaosSuite) panicsSince(at map[string]int64) []string {
	var out []string
	logs, _ := filepath.Glob(filepath.Join(s.c.opts.Dir, "*.log"))
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			continue
		}
		_, _ = f.Seek(at[l], io.SeekStart)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			if panicRE.MatchString(sc.Text()) {
				out = append(out, filepath.Base(l)+": "+clip([]byte(sc.Text()), 300))
			}
		}
		f.Close()
	}
	return out
}

// corpusValues are the []byte and string values of one "go test fuzz v1" corpus entry.
func corpusValues(entry string) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(entry, "\n")[1:] {
		line = strings.TrimSpace(line)
		for _, typ := range []string{"[]byte(", "string("} {
			if rest, ok := strings.CutPrefix(line, typ); ok && strings.HasSuffix(rest, ")") {
				if v, err := strconv.Unquote(strings.TrimSuffix(rest, ")")); err == nil {
					out = append(out, []byte(v))
				}
			}
		}
	}
	return out
}

// logLines calls fn with every line of every log of the cluster, with its file and number.
func (s *chaosSuite) logLines(fn func(file string, n int, line string)) error {
	logs, _ := filepath.Glob(filepath.Join(s.c.opts.Dir, "*.log"))
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			return fmt.Errorf("log %s: %w", l, err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for n := 1; sc.Scan(); n++ {
			fn(filepath.Base(l), n, sc.Text())
		}
		f.Close()
	}
	return nil
}

var (
	waitsRE  = regexp.MustCompile(`msg="message waits[^"]*".*recordID=(\d+) kind=(\S+) reason=(.*)$`)
	recordRE = regexp.MustCompile(`record (\d+) `)
)

// explain adds to each finding about a record the last reason the workers logged for one of
// its messages waiting (deliver answered paused), when there is one.
func (s *chaosSuite) explain(findings []string) []string {
	paused := map[string]string{}
	_ = s.logLines(func(_ string, _ int, line string) {
		if m := waitsRE.FindStringSubmatch(line); m != nil {
			paused[m[1]] = m[2] + " paused at " + strings.TrimPrefix(strings.Fields(line)[0], "time=") + ": " + m[3]
		}
	})
	out := make([]string, len(findings))
	for i, f := range findings {
		out[i] = f
		if m := recordRE.FindStringSubmatch(f); m != nil && paused[m[1]] != "" {
			out[i] += " (" + paused[m[1]] + "; a paused message is rechecked every 5 min)"
		}
	}
	return out
}
