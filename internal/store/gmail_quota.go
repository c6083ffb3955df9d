package store

import (
	"context"
	"time"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// QuotaBucket is one token bucket: refilled at Rate units per second up to
// Burst.
type QuotaBucket struct {
	Name        string
	Rate, Burst float64
}

// QuotaTake takes units from a quota bucket refilled at rate per second up
// to burst; it returns how long to wait first (0: taken).
func (s *Store) QuotaTake(ctx context.Context, bucket string, units, rate, burst float64) (time.Duration, error) {
	secs, err := s.q.QuotaTake(ctx, dbsqlc.QuotaTakeParams{Bucket: bucket, Units: units, Rate: rate, Burst: burst})
	if err != nil {
		return 0, translate(err, "taking quota")
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// QuotaPeek returns a bucket's tokens now without taking any; an unknown
// bucket is full (burst).
func (s *Store) QuotaPeek(ctx context.Context, bucket string, rate, burst float64) (float64, error) {
	n, err := s.q.QuotaPeek(ctx, dbsqlc.QuotaPeekParams{Bucket: bucket, Rate: rate, Burst: burst})
	return n, translate(err, "reading quota")
}

// QuotaTakeAll takes units from every bucket or from none; it returns how
// long to wait first (0: taken) and the bucket that imposes the wait.
func (s *Store) QuotaTakeAll(ctx context.Context, units float64, buckets ...QuotaBucket) (time.Duration, string, error) {
	p := dbsqlc.QuotaTakeAllParams{Units: units}
	for _, b := range buckets {
		p.Buckets, p.Rates, p.Bursts = append(p.Buckets, b.Name), append(p.Rates, b.Rate), append(p.Bursts, b.Burst)
	}
	r, err := s.q.QuotaTakeAll(ctx, p)
	if err != nil {
		return 0, "", translate(err, "taking quota")
	}
	return time.Duration(r.WaitSeconds * float64(time.Second)), r.Bucket, nil
}

// QuotaBlock stops calls for a bucket until a time.
func (s *Store) QuotaBlock(ctx context.Context, bucket string, until time.Time) error {
	return translate(s.q.QuotaBlock(ctx, dbsqlc.QuotaBlockParams{Bucket: bucket, Until: &until}), "blocking quota")
}
