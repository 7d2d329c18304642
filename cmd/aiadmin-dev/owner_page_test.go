package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// openConnectPage plays the owner's browser from «Подключить» in YClients to the connect page:
// the fake's marketplace redirect, our register page and the pages that come back by
// themselves (202): the queue page while the salon waits its turn for YClients, and the
// registering page while Temporal has not finished the salon's registration; the browser
// opens them again when their refresh comes. It returns the connect page's session token and
// how many of each were shown; any other page is an error with its status and title, and so
// is a page without its refresh (an owner would be stuck on it). hc must not follow
// redirects.
func openConnectPage(ctx context.Context, hc *http.Client, fakeURL string, salon int64) (token string, waits pageWaits, err error) {
	resp, err := hc.Get(fmt.Sprintf("%s/_fake/marketplace/redirect?salon_id=%d", fakeURL, salon))
	if err != nil {
		return "", waits, withoutQuery(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", waits, fmt.Errorf("marketplace redirect: %d", resp.StatusCode)
	}
	page := resp.Header.Get("Location")
	for {
		resp, err = hc.Get(page)
		if err != nil {
			return "", waits, withoutQuery(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			m := tokenRE.FindStringSubmatch(string(body))
			if resp.StatusCode != http.StatusOK || len(m) != 2 {
				return "", waits, fmt.Errorf("register page %d: %s", resp.StatusCode, pageTitle(string(body)))
			}
			return m[1], waits, nil
		}
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs <= 0 || !strings.Contains(string(body), `<meta http-equiv="refresh" content="`+strconv.Itoa(secs)+`">`) {
			return "", waits, fmt.Errorf("page %q without its refresh: Retry-After %q", pageTitle(string(body)), resp.Header.Get("Retry-After"))
		}
		if strings.HasPrefix(pageTitle(string(body)), registeringTitle) {
			waits.registering++
		} else {
			waits.queued++
		}
		select {
		case <-ctx.Done():
			return "", waits, fmt.Errorf("still waiting after %d queue and %d registering pages: %w", waits.queued, waits.registering, ctx.Err())
		case <-time.After(time.Duration(secs) * time.Second):
		}
	}
}

// pageWaits counts the pages that came back by themselves while an owner opened the connect
// page.
type pageWaits struct {
	queued      int // the queue page: the salon waits its turn for YClients
	registering int // the registering page: Temporal had not finished the registration in time
}

// registeringTitle is the registering page's title.
const registeringTitle = "Регистрируем салон"

// withoutQuery gives a failed request's error without the URL's query (the register page's
// signed user data), as text only: the benchmarks print what fails them.
func withoutQuery(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	where := "(unparsable URL)"
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.Fragment = "", ""
		where = u.String()
	}
	return fmt.Errorf("%s %s: %v", ue.Op, where, ue.Err)
}

func pageTitle(body string) string {
	_, after, ok := strings.Cut(body, "<title>")
	if !ok {
		return "(no title)"
	}
	title, _, _ := strings.Cut(after, "</title>")
	return title
}
