-- name: KeepSalonRead :exec
-- KeepSalonRead keeps what YClients said of a salon; a newer reading is never replaced by an
-- older one (two processes reading at once).
INSERT INTO yclients_salon_reads (salon_id, kind, body, read_at)
VALUES (@salon_id, @kind, @body, @read_at)
ON CONFLICT (salon_id, kind) DO UPDATE SET body = EXCLUDED.body, read_at = EXCLUDED.read_at
WHERE yclients_salon_reads.read_at <= EXCLUDED.read_at;

-- name: KeptSalonRead :one
-- KeptSalonRead is the kept reading of kind for the salon when it was read after since.
SELECT body, read_at FROM yclients_salon_reads
WHERE salon_id = @salon_id AND kind = @kind AND read_at > @since;
