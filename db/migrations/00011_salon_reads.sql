-- +goose Up

-- yclients_salon_reads keeps what YClients said of a salon for the register page (its company,
-- the integration's status), for every api process: an owner whose page ran out of time and
-- who reloads it reaches another process behind the load balancer, which then does not ask
-- YClients again (every request waits its turn in the cluster's budget, yclients_budget).
-- read_at is the reading process's clock; each reader decides how old is too old.
CREATE TABLE yclients_salon_reads (
    salon_id bigint      NOT NULL,
    kind     text        NOT NULL,
    body     jsonb       NOT NULL,
    read_at  timestamptz NOT NULL,
    PRIMARY KEY (salon_id, kind)
);

-- +goose Down
DROP TABLE yclients_salon_reads;
