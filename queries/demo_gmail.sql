-- name: DemoGmailSet :exec
INSERT INTO demo_gmail (url) VALUES (@url)
ON CONFLICT (singleton) DO UPDATE SET url = excluded.url, updated_at = now();

-- name: DemoGmailGet :one
SELECT url FROM demo_gmail;
