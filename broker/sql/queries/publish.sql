-- Publishing: outbox rows written in the caller's transaction (broker/postgres.py).

-- name: insert_one
INSERT INTO bus_outbox (id, event_type, source, tenant_id, company_id, ordering_key,
                        occurred_at, correlation_id, causation_id, version, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)

-- name: insert_many
INSERT INTO bus_outbox (id, event_type, source, tenant_id, company_id, ordering_key,
                        occurred_at, correlation_id, causation_id, version, payload)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[],
                     $7::timestamptz[], $8::uuid[], $9::uuid[], $10::int[], $11::jsonb[])
