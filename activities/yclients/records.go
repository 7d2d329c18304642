package yclients

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

const (
	// recordsPageSize is how many records Records asks for per page.
	recordsPageSize = 100
	// maxRecordPages stops Records on a server that ignores page (100 000 records).
	maxRecordPages = 1000
)

// Records returns the salon's records whose visit is on the dates from..to inclusive, deleted
// ones left out: GET /api/v1/records/{company_id}?start_date=&end_date=&page=&count=100. The
// dates are taken from from and to as they are (pass times in the salon's zone). It pages until
// it has meta.total_count records or gets an empty page (without a total_count: a short page);
// a record seen on two pages (the list moved while paging) is kept once.
func (c *Client) Records(ctx context.Context, salonID int64, from, to time.Time) ([]Record, error) {
	q := url.Values{}
	q.Set("start_date", from.Format(time.DateOnly))
	q.Set("end_date", to.Format(time.DateOnly))
	return c.records(ctx, salonID, q)
}

// ChangedRecords returns the salon's records of day's date last changed at or after after and
// at or before before, deleted ones included (marked Deleted): GET /api/v1/records/{company_id}
// ?start_date=&end_date=&changed_after=&changed_before=&with_deleted=1, paged as Records. The
// moments are sent in day's zone as "2006-01-02 15:04:05"; a zero after asks from the day's
// start, a zero before up to now.
func (c *Client) ChangedRecords(ctx context.Context, salonID int64, day, after, before time.Time) ([]Record, error) {
	q := url.Values{}
	q.Set("start_date", day.Format(time.DateOnly))
	q.Set("end_date", day.Format(time.DateOnly))
	if !after.IsZero() {
		q.Set("changed_after", after.In(day.Location()).Format(time.DateTime))
	}
	if !before.IsZero() {
		q.Set("changed_before", before.In(day.Location()).Format(time.DateTime))
	}
	q.Set("with_deleted", "1")
	return c.records(ctx, salonID, q)
}

// records pages through GET /api/v1/records/{company_id} with the filter q.
func (c *Client) records(ctx context.Context, salonID int64, filter url.Values) ([]Record, error) {
	path := fmt.Sprintf("/api/v1/records/%d", salonID)
	var out []Record
	seen := map[int64]bool{}
	for page := 1; page <= maxRecordPages; page++ {
		q := maps.Clone(filter)
		q.Set("page", strconv.Itoa(page))
		q.Set("count", strconv.Itoa(recordsPageSize))
		var ws wireRecords
		var meta struct {
			TotalCount *FlexInt `json:"total_count"`
		}
		if err := c.getPage(ctx, path, q, &ws, &meta); err != nil {
			return nil, err
		}
		for _, w := range ws {
			r, err := w.toRecord()
			if err != nil {
				return nil, fmt.Errorf("yclients: GET %s page %d: %w", path, page, err)
			}
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
		switch {
		case len(ws) == 0,
			meta.TotalCount != nil && len(out) >= int(*meta.TotalCount),
			meta.TotalCount == nil && len(ws) < recordsPageSize:
			return out, nil
		}
	}
	return nil, fmt.Errorf("yclients: GET %s: still more records after %d pages", path, maxRecordPages)
}

// SetAttendance sets a record's attendance, as a partner app does when a client confirms by
// replying: 2 confirmed, 1 came, 0 waiting, -1 no-show (the soft cancel):
// PUT /api/v1/visits/{visit_id}/{record_id} {"attendance","comment"}. YClients documents the
// comment as required and the visit's comment is the record's, so the record's current comment
// is read first (GET /record/{company_id}/{record_id}) and sent back unchanged. YClients then
// sends the record's "update" webhook.
func (c *Client) SetAttendance(ctx context.Context, salonID, visitID, recordID int64, attendance int) error {
	path := fmt.Sprintf("/api/v1/visits/%d/%d", visitID, recordID)
	if attendance < -1 || attendance > 2 {
		return fmt.Errorf("yclients: PUT %s: attendance %d is not one of 2, 1, 0, -1", path, attendance)
	}
	rec, err := c.Record(ctx, salonID, recordID)
	if err != nil {
		return err
	}
	body := struct {
		Attendance int    `json:"attendance"`
		Comment    string `json:"comment"`
	}{attendance, rec.Comment}
	resp, err := c.send(ctx, call{method: http.MethodPut, path: path, body: body})
	if err != nil {
		return err
	}
	if resp.status < 200 || resp.status > 299 {
		return fmt.Errorf("yclients: PUT %s: %w", path, c.apiError(resp))
	}
	if err := c.checkSuccess(resp); err != nil {
		return fmt.Errorf("yclients: PUT %s: %w", path, err)
	}
	return nil
}

// checkSuccess accepts a 2xx answer whose body is empty or a JSON envelope that does not say
// "success": false; an HTML page or another body is an *APIError.
func (c *Client) checkSuccess(resp *response) error {
	body := bytes.TrimSpace(resp.body)
	switch {
	case len(body) == 0:
		return nil
	case isHTML(resp.contentType, body):
		return &APIError{StatusCode: resp.status, Message: describeHTML(body)}
	case !json.Valid(body):
		return &APIError{StatusCode: resp.status, Message: describeOther(resp.contentType, body)}
	case body[0] != '{':
		return nil
	}
	var env struct {
		Success *FlexBool `json:"success"`
	}
	if json.Unmarshal(body, &env) == nil && env.Success != nil && !bool(*env.Success) {
		return c.apiError(resp)
	}
	return nil
}
