-- +goose Up

-- A message is named by (salon, record, kind, visit time, seq): seq numbers the notices of
-- one kind about one record, so a visit moved back to a time the client was told of before,
-- or a visit restored after its cancellation, is told again instead of being taken for a
-- message already sent; a notice takes the inbox ID of the webhook that caused it. Rows
-- written before have seq 0.
ALTER TABLE messages ADD COLUMN seq bigint NOT NULL DEFAULT 0;
ALTER TABLE messages DROP CONSTRAINT messages_salon_id_record_id_kind_visit_time_key;
ALTER TABLE messages ADD CONSTRAINT messages_key UNIQUE (salon_id, record_id, kind, visit_time, seq);

-- capped_on is the salon-local day whose daily cap counted the message (once, whatever the
-- retries); salon_daily_sends counts them, one row per salon and day, so that concurrent
-- sends cannot all pass a count read before any of them went out.
ALTER TABLE messages ADD COLUMN capped_on date NULL;
CREATE TABLE salon_daily_sends (
    salon_id bigint  NOT NULL,
    day      date    NOT NULL,
    sends    integer NOT NULL,
    PRIMARY KEY (salon_id, day)
);

-- paused_messages lists the workflows with a message waiting for the salon to be able to send
-- (frozen, re-link needed, WhatsApp not linked): an unfreeze or a re-link signals exactly
-- these, and the health endpoint counts them.
CREATE TABLE paused_messages (
    salon_id    bigint      NOT NULL,
    workflow_id text        NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    since       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (salon_id, workflow_id)
);

-- +goose Down
DROP TABLE paused_messages;
DROP TABLE salon_daily_sends;
ALTER TABLE messages DROP COLUMN capped_on;
ALTER TABLE messages DROP CONSTRAINT messages_key;
DELETE FROM messages WHERE seq <> 0;
ALTER TABLE messages ADD CONSTRAINT messages_salon_id_record_id_kind_visit_time_key UNIQUE (salon_id, record_id, kind, visit_time);
ALTER TABLE messages DROP COLUMN seq;
