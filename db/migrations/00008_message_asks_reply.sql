-- +goose Up

-- asks_reply marks a client message that asked the client to answer: a confirmation or
-- day-before reminder ending with «Ответьте 1 — подтверждаю, 2 — не смогу прийти», or a review
-- request («Оцените от 1 до 5»). A client's reply is matched to the latest such message sent
-- to them (its salon, record, visit time and phone are on the row).
ALTER TABLE messages ADD COLUMN asks_reply boolean NOT NULL DEFAULT false;

CREATE INDEX messages_asks_reply_idx ON messages (salon_id, phone, sent_at DESC)
    WHERE asks_reply AND status = 'sent';

-- +goose Down
DROP INDEX messages_asks_reply_idx;
ALTER TABLE messages DROP COLUMN asks_reply;
