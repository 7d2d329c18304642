package yclients

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Company returns the salon's card: GET /api/v1/company/{id}.
func (c *Client) Company(ctx context.Context, salonID int64) (Company, error) {
	var w wireCompany
	if err := c.getData(ctx, fmt.Sprintf("/api/v1/company/%d", salonID), nil, &w); err != nil {
		return Company{}, err
	}
	return w.toCompany(), nil
}

// Services returns every service of the salon: GET /api/v1/company/{id}/services.
func (c *Client) Services(ctx context.Context, salonID int64) ([]Service, error) {
	var ws []wireService
	if err := c.getData(ctx, fmt.Sprintf("/api/v1/company/%d/services", salonID), nil, &ws); err != nil {
		return nil, err
	}
	out := make([]Service, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.toService())
	}
	return out, nil
}

// Staff returns the salon's team, including fired and hidden members (see the flags):
// GET /api/v1/company/{id}/staff.
func (c *Client) Staff(ctx context.Context, salonID int64) ([]Staff, error) {
	var ws []wireStaff
	if err := c.getData(ctx, fmt.Sprintf("/api/v1/company/%d/staff", salonID), nil, &ws); err != nil {
		return nil, err
	}
	out := make([]Staff, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.toStaff())
	}
	return out, nil
}

// Schedules returns the working schedule of all staff for the dates from..to inclusive, in one
// call: GET /api/v1/company/{id}/staff/schedule?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD.
// The dates are taken from from and to as they are (pass times in the salon's zone).
func (c *Client) Schedules(ctx context.Context, salonID int64, from, to time.Time) ([]ScheduleDay, error) {
	q := url.Values{}
	q.Set("start_date", from.Format(time.DateOnly))
	q.Set("end_date", to.Format(time.DateOnly))
	var ws []wireScheduleDay
	if err := c.getData(ctx, fmt.Sprintf("/api/v1/company/%d/staff/schedule", salonID), q, &ws); err != nil {
		return nil, err
	}
	out := make([]ScheduleDay, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.toScheduleDay())
	}
	return out, nil
}

// Record returns one appointment: GET /api/v1/record/{company_id}/{record_id}.
func (c *Client) Record(ctx context.Context, salonID, recordID int64) (Record, error) {
	path := fmt.Sprintf("/api/v1/record/%d/%d", salonID, recordID)
	var w wireRecord
	if err := c.getData(ctx, path, nil, &w); err != nil {
		return Record{}, err
	}
	r, err := w.toRecord()
	if err != nil {
		return Record{}, fmt.Errorf("yclients: GET %s: %w", path, err)
	}
	return r, nil
}
