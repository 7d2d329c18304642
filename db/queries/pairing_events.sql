-- name: InsertPairingEvent :one
INSERT INTO pairing_events (salon_id, attempt, kind, payload_enc, expires_at, session)
VALUES (@salon_id, @attempt, @kind, @payload_enc, sqlc.narg(expires_at), @session)
RETURNING id;

-- name: ListPairingEvents :many
-- ListPairingEvents returns the salon's events after after_id in id order,
-- expired ones included: the caller judges expiry by its own clock, and
-- DeleteExpiredPairingEvents sweeps them.
SELECT * FROM pairing_events
WHERE salon_id = @salon_id AND id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: ListSessionPairingEvents :many
-- ListSessionPairingEvents is ListPairingEvents for one browser session: the events of its
-- own attempts (and of attempts that named no session).
SELECT * FROM pairing_events
WHERE salon_id = @salon_id AND id > @after_id AND session IN (@session::text, '')
ORDER BY id
LIMIT @max_rows;

-- name: LatestPairingEvent :one
SELECT * FROM pairing_events
WHERE salon_id = @salon_id
ORDER BY id DESC
LIMIT 1;

-- name: DeletePairingEvents :execrows
DELETE FROM pairing_events
WHERE salon_id = @salon_id;

-- name: DeleteExpiredPairingEvents :execrows
DELETE FROM pairing_events
WHERE expires_at < @before::timestamptz;

-- name: DeleteFinishedPairingEvents :execrows
-- DeleteFinishedPairingEvents deletes the ends of pairing attempts (success, timeout, error)
-- created before before: the connect page read them long ago.
DELETE FROM pairing_events
WHERE kind IN ('success', 'timeout', 'error') AND created_at < @before::timestamptz;
