package yclientsfake

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
)

// Control API of records, clients and their webhooks. Records are answered as GET
// /api/v1/record/{company_id}/{record_id} answers them (its data, without the envelope).

func (f *Fake) handleCreateRecord(w http.ResponseWriter, r *http.Request) {
	salonID, ok := pathID(r, "salon_id")
	if !ok {
		writeControlError(w, http.StatusNotFound, "салон не найден")
		return
	}
	var in RecordInput
	if err := readJSON(r, &in); err != nil {
		writeBodyError(w, err)
		return
	}
	rec, err := f.CreateRecord(salonID, in)
	if err != nil {
		writeEntityError(w, err)
		return
	}
	f.writeRecord(w, http.StatusCreated, salonID, rec.ID)
}

// handleGetRecord answers the record exactly as GET /api/v1/record/{company_id}/{record_id}'s
// data, without auth, so that a test can look at what YClients now holds.
func (f *Fake) handleGetRecord(w http.ResponseWriter, r *http.Request) {
	salonID, _ := pathID(r, "salon_id")
	recordID, _ := pathID(r, "record_id")
	f.writeRecord(w, http.StatusOK, salonID, recordID)
}

func (f *Fake) handleUpdateRecord(w http.ResponseWriter, r *http.Request) {
	salonID, ok1 := pathID(r, "salon_id")
	recordID, ok2 := pathID(r, "record_id")
	if !ok1 || !ok2 {
		writeControlError(w, http.StatusNotFound, "запись не найдена")
		return
	}
	var ch RecordChange
	if err := readJSON(r, &ch); err != nil {
		writeBodyError(w, err)
		return
	}
	if _, err := f.UpdateRecord(salonID, recordID, ch); err != nil {
		writeEntityError(w, err)
		return
	}
	f.writeRecord(w, http.StatusOK, salonID, recordID)
}

// handleDeleteRecord takes an optional body {"duplicates":N} and answers the deleted record.
func (f *Fake) handleDeleteRecord(w http.ResponseWriter, r *http.Request) {
	salonID, ok1 := pathID(r, "salon_id")
	recordID, ok2 := pathID(r, "record_id")
	if !ok1 || !ok2 {
		writeControlError(w, http.StatusNotFound, "запись не найдена")
		return
	}
	var in struct {
		Duplicates int `json:"duplicates"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeControlError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := readJSON(r, &in); err != nil {
			writeBodyError(w, err)
			return
		}
	}
	if err := f.DeleteRecord(salonID, recordID, in.Duplicates); err != nil {
		writeEntityError(w, err)
		return
	}
	f.writeRecord(w, http.StatusOK, salonID, recordID)
}

func (f *Fake) handleCreateClient(w http.ResponseWriter, r *http.Request) {
	salonID, ok := pathID(r, "salon_id")
	if !ok {
		writeControlError(w, http.StatusNotFound, "салон не найден")
		return
	}
	var in struct {
		ClientInput
		Duplicates int `json:"duplicates"`
	}
	if err := readJSON(r, &in); err != nil {
		writeBodyError(w, err)
		return
	}
	c, err := f.CreateClient(salonID, in.ClientInput, in.Duplicates)
	if err != nil {
		writeEntityError(w, err)
		return
	}
	f.mu.Lock()
	loc := f.salons[salonID].loc
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, renderClient(loc, c, phoneText))
}

// handleWebhooks lists the webhook attempts, newest last, with the target URLs masked.
func (f *Fake) handleWebhooks(w http.ResponseWriter, _ *http.Request) {
	list := f.Deliveries()
	for i := range list {
		list[i].URL = maskURL(list[i].URL)
	}
	writeJSON(w, http.StatusOK, list)
}

// writeRecord answers the record as it now stands, rendered like the REST API's.
func (f *Fake) writeRecord(w http.ResponseWriter, status int, salonID, recordID int64) {
	f.mu.Lock()
	var data *recordJSON
	if st, ok := f.salons[salonID]; ok {
		if i := slices.IndexFunc(st.salon.Records, func(r Record) bool { return r.ID == recordID }); i >= 0 {
			data = renderRecord(st.salon, st.loc, st.salon.Records[i], phoneJSON)
		}
	}
	f.mu.Unlock()
	if data == nil {
		writeControlError(w, http.StatusNotFound, "запись не найдена")
		return
	}
	writeJSON(w, status, data)
}

func writeEntityError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnknownSalon):
		writeControlError(w, http.StatusNotFound, "салон не найден")
	case errors.Is(err, ErrUnknownRecord):
		writeControlError(w, http.StatusNotFound, "запись не найдена")
	case errors.Is(err, ErrRecordDeleted):
		writeControlError(w, http.StatusConflict, "запись удалена")
	case errors.Is(err, ErrClientExists):
		writeControlError(w, http.StatusUnprocessableEntity, "Клиент с указанным телефоном уже существует в базе")
	case errors.Is(err, ErrInvalidInput):
		writeControlError(w, http.StatusUnprocessableEntity, err.Error())
	default:
		writeControlError(w, http.StatusInternalServerError, err.Error())
	}
}
