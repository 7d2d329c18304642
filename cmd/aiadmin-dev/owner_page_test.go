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
// the fake's marketplace redirect, our register page and, while the salon waits its turn for
// YClients, the queue page (202), which the browser opens again by itself when its refresh
// comes. It returns the connect page's session token and how many queue pages were shown; any
// other page is an error with its status and title, and so is a queue page without its
// refresh (an owner would be stuck on it). hc must not follow redirects.
func openConnectPage(ctx context.Context, hc *http.Client, fakeURL string, salon int64) (token string, queued int, err error) {
	resp, err := hc.Get(fmt.Sprintf("%s/_fake/marketplace/redirect?salon_id=%d", fakeURL, salon))
	if err != nil {
		return "", 0, withoutQuery(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", 0, fmt.Errorf("marketplace redirect: %d", resp.StatusCode)
	}
	page := resp.Header.Get("Location")
	for {
		resp, err = hc.Get(page)
		if err != nil {
			return "", queued, withoutQuery(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			m := tokenRE.FindStringSubmatch(string(body))
			if resp.StatusCode != http.StatusOK || len(m) != 2 {
				return "", queued, fmt.Errorf("register page %d: %s", resp.StatusCode, pageTitle(string(body)))
			}
			return m[1], queued, nil
		}
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs <= 0 || !strings.Contains(string(body), `<meta http-equiv="refresh" content="`+strconv.Itoa(secs)+`">`) {
			return "", queued, fmt.Errorf("queue page %q without its refresh: Retry-After %q", pageTitle(string(body)), resp.Header.Get("Retry-After"))
		}
		queued++
		select {
		case <-ctx.Done():
			return "", queued, fmt.Errorf("still in the queue after %d queue pages: %w", queued, ctx.Err())
		case <-time.After(time.Duration(secs) * time.Second):
		}
	}
}

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
