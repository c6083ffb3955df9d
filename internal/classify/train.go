package classify

import (
	"errors"
	"math"
)

// Trainer counts features of labelled messages and builds a Model. The base
// model is trained by internal/classify/cmd/train; per-user models will use
// the same type.
type Trainer struct {
	bits   uint8
	counts [2][]float64 // [ham, spam][bucket]
	totals [2]float64
	docs   [2]float64
	buf    []uint32
}

// DefaultBits is the number of hash bits of the base model: 2^20 buckets
// (2^18 collided more and caught less spam in cross-validation).
const DefaultBits = 20

// NewTrainer returns a trainer with 2^bits buckets.
func NewTrainer(bits uint8) *Trainer {
	n := 1 << bits
	return &Trainer{bits: bits, counts: [2][]float64{make([]float64, n), make([]float64, n)}}
}

// Add counts msg as spam or not.
func (t *Trainer) Add(msg *Message, spam bool) {
	c := 0
	if spam {
		c = 1
	}
	mask := uint32(1)<<t.bits - 1
	t.buf = features(t.buf[:0], msg)
	for _, h := range t.buf {
		t.counts[c][h&mask]++
	}
	t.totals[c] += float64(len(t.buf))
	t.docs[c]++
}

// Smoothing is the additive (Lidstone) smoothing of bucket counts. The
// smoothing mass is Smoothing times the number of buckets seen, not of all
// buckets: with hashing the table size is arbitrary, the vocabulary is not.
const Smoothing = 0.05

// MinCount is the number of occurrences below which a bucket gets no weight.
const MinCount = 2

// Model builds the model from the counts so far. Threshold and calibration
// are left at 0 and 1: the caller chooses them by cross-validation.
func (t *Trainer) Model(version string) (*Model, error) {
	if t.docs[0] == 0 || t.docs[1] == 0 {
		return nil, errors.New("training a model needs both spam and ham")
	}
	n := len(t.counts[0])
	seen := 0
	for i := range n {
		if t.counts[0][i]+t.counts[1][i] > 0 {
			seen++
		}
	}
	v := float64(seen)
	m := &Model{
		Version: version, bits: t.bits, mask: uint32(n - 1), weights: make([]int16, n),
		Bias: math.Log(t.docs[1] / t.docs[0]), CalA: 1,
	}
	dh, ds := math.Log(t.totals[0]+Smoothing*v), math.Log(t.totals[1]+Smoothing*v)
	for i := range n {
		if t.counts[0][i]+t.counts[1][i] < MinCount {
			// Too little evidence: an unseen or once-seen bucket would lean
			// toward the class with fewer tokens. It weighs nothing, so a
			// message of new words stays near the prior. Zero weights also
			// keep the encoded model small.
			continue
		}
		w := (math.Log(t.counts[1][i]+Smoothing) - ds) - (math.Log(t.counts[0][i]+Smoothing) - dh)
		w = math.Round(w * weightScale)
		m.weights[i] = int16(max(math.MinInt16, min(math.MaxInt16, w)))
	}
	return m, nil
}
