package simserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// PairQR starts a QR pairing attempt; the attempt lives as long as ctx. On success this client
// holds the salon's live connection.
func (c *Client) PairQR(ctx context.Context, salonID int64) (<-chan whatsapp.PairEvent, error) {
	return c.pair(ctx, salonID, url.Values{"method": {"qr"}})
}

// PairPhone starts a pairing attempt by code entered on the phone with this number.
func (c *Client) PairPhone(ctx context.Context, salonID int64, phone string) (<-chan whatsapp.PairEvent, error) {
	digits, err := whatsapp.NormalizePhone(phone)
	if err != nil {
		return nil, err
	}
	return c.pair(ctx, salonID, url.Values{"method": {"phone"}, "phone": {digits}})
}

func (c *Client) pair(ctx context.Context, salonID int64, q url.Values) (<-chan whatsapp.PairEvent, error) {
	if err := c.session(ctx); err != nil {
		return nil, err
	}
	q.Set("client", c.opts.ID)
	q.Set("salon_id", strconv.FormatInt(salonID, 10))
	// The attempt ends with ctx or with the client.
	actx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, c.base+"/v1/pair?"+q.Encode(), nil)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp, err := c.streams.Do(req)
	if err != nil {
		stop()
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("simserver: pair: %w: %v", whatsapp.ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		stop()
		cancel()
		return nil, decodeError(resp)
	}
	out := make(chan whatsapp.PairEvent, pairBuffer)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(out)
		defer cancel()
		defer stop()
		defer resp.Body.Close()
		c.readPairStream(actx, salonID, resp.Body, out)
	}()
	return out, nil
}

// readPairStream passes the attempt's items, one JSON object a line, on to out until the
// terminal one, a malformed line, or the attempt's end.
func (c *Client) readPairStream(ctx context.Context, salonID int64, body io.Reader, out chan<- whatsapp.PairEvent) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		var ev event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			return
		}
		item := whatsapp.PairEvent{Kind: whatsapp.PairKind(ev.Type), Code: ev.Code,
			ExpiresIn: time.Duration(ev.ExpiresMs) * time.Millisecond, Phone: ev.Phone, Name: ev.Name, JID: ev.JID}
		if ev.Err != nil {
			item.Err = errorOf(*ev.Err)
		}
		if item.Kind == whatsapp.PairSuccess {
			c.hold(salonID, true)
		}
		select {
		case out <- item:
		case <-ctx.Done():
			return
		}
		if item.Terminal() {
			return
		}
	}
}
