-- +goose Up

-- yclients_budget is the cluster-wide YClients request budget: YClients allows 200 requests a
-- minute (5 a second) per IP, whatever the number of api and worker processes behind it. Every
-- request reserves the next free slot here (one row, one UPDATE), then waits for it: slots are
-- spaced evenly, so the whole cluster never goes faster than the limit. A caller that is not in
-- a hurry books only when the queue is short, so the owner's page is served first.
CREATE TABLE yclients_budget (
    id      smallint    PRIMARY KEY CHECK (id = 1),
    next_at timestamptz NOT NULL
);
INSERT INTO yclients_budget (id, next_at) VALUES (1, now());

-- +goose Down
DROP TABLE yclients_budget;
