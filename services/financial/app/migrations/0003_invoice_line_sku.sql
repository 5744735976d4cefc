-- Invoice lines may name a warehouse item (`sku`), announced with financial.invoice.created v2.
ALTER TABLE "{prefix}invoice_lines" ADD COLUMN IF NOT EXISTS sku varchar(64);
