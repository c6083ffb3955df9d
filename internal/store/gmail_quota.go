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

// QuotaClaim is what one call takes from one bucket.
type QuotaClaim struct {
	QuotaBucket
	Units float64
}

// QuotaTakeEach is QuotaTakeAll with each bucket's own units (one request
// from a request bucket and many tokens from a token bucket, say): every
// claim is taken or none is. It returns how long to wait first (0: taken)
// and the bucket that imposes the wait.
func (s *Store) QuotaTakeEach(ctx context.Context, claims ...QuotaClaim) (time.Duration, string, error) {
	var p dbsqlc.QuotaTakeEachParams
	for _, c := range claims {
		p.Buckets, p.Units = append(p.Buckets, c.Name), append(p.Units, c.Units)
		p.Rates, p.Bursts = append(p.Rates, c.Rate), append(p.Bursts, c.Burst)
	}
	r, err := s.q.QuotaTakeEach(ctx, p)
	if err != nil {
		return 0, "", translate(err, "taking quota")
	}
	return time.Duration(r.WaitSeconds * float64(time.Second)), r.Bucket, nil
}

// QuotaCharge settles a bucket after the fact, without waiting: it takes
// units, which may leave the bucket in debt (the next taker waits for it),
// or gives -units back, up to the burst. It is for costs known only once a
// call is done; a bucket never taken from is left alone.
func (s *Store) QuotaCharge(ctx context.Context, claim QuotaClaim) error {
	err := s.q.QuotaCharge(ctx, dbsqlc.QuotaChargeParams{Bucket: claim.Name, Units: claim.Units, Rate: claim.Rate, Burst: claim.Burst})
	return translate(err, "charging quota")
}
