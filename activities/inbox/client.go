package inbox

import (
	"encoding/json"

	"github.com/aiadmin/aiadmin/activities/yclients"
)

type wireClient struct {
	ID    yclients.FlexInt    `json:"id"`
	Name  yclients.FlexString `json:"name"`
	Phone yclients.FlexString `json:"phone"`
}

type clientData struct {
	ID    int64
	Name  string
	Phone string
}

func decodeClient(data []byte) (clientData, error) {
	var w wireClient
	if err := json.Unmarshal(data, &w); err != nil {
		return clientData{}, err
	}
	if w.ID == 0 {
		return clientData{}, errNoClient
	}
	return clientData{ID: int64(w.ID), Name: string(w.Name), Phone: string(w.Phone)}, nil
}
