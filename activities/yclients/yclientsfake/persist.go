package yclientsfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// snapshot is what the fake keeps across restarts of `make dev`: YClients itself keeps its
// salons, their integration status, the webhook URLs it was given and the records.
type snapshot struct {
	Salons       []salonSnapshot `json:"salons"`
	Callbacks    []Callback      `json:"callbacks"`
	NextRecordID int64           `json:"next_record_id"`
	NextClientID int64           `json:"next_client_id"`
}

type salonSnapshot struct {
	Salon        Salon       `json:"salon"`
	Status       string      `json:"status"`
	CreatedAt    time.Time   `json:"created_at"`
	PendingSince time.Time   `json:"pending_since"`
	Logs         []StatusLog `json:"logs"`
	Clients      []Client    `json:"clients"`
}

// Save writes the fake's state to path (demo mode only: the file holds api keys given in
// activation callbacks, so it is created 0600 in the git-ignored data folder).
func (f *Fake) Save(path string) error {
	f.mu.Lock()
	snap := snapshot{Callbacks: append([]Callback(nil), f.callbacks...), NextRecordID: f.nextRecordID, NextClientID: f.nextClientID}
	for _, st := range f.salons {
		snap.Salons = append(snap.Salons, salonSnapshot{Salon: st.salon, Status: st.status, CreatedAt: st.createdAt,
			PendingSince: st.pendingSince, Logs: st.logs, Clients: st.clients})
	}
	f.mu.Unlock()
	b, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load restores a state written by Save; a missing file is not an error (it reports false).
func (f *Fake) Load(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return false, fmt.Errorf("fake state %s: %w", path, err)
	}
	for _, s := range snap.Salons {
		f.AddSalon(s.Salon)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range snap.Salons {
		st := f.salons[s.Salon.ID]
		st.status, st.createdAt, st.pendingSince, st.logs, st.clients = s.Status, s.CreatedAt, s.PendingSince, s.Logs, s.Clients
	}
	f.callbacks = snap.Callbacks
	if snap.NextRecordID > f.nextRecordID {
		f.nextRecordID = snap.NextRecordID
	}
	if snap.NextClientID > f.nextClientID {
		f.nextClientID = snap.NextClientID
	}
	return true, nil
}
