package classify

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
)

// Model is a two-class (spam, not spam) multinomial naive Bayes model over
// hashed features: one log-likelihood ratio per hash bucket. It is read-only
// once built and safe for concurrent use.
type Model struct {
	// Version names the model (e.g. "base-2026-12-04-sa1"); decisions carry it.
	Version string
	bits    uint8
	mask    uint32
	// weights[b] is log P(bucket b | spam) − log P(bucket b | ham), scaled by
	// weightScale and rounded.
	weights []int16
	// Bias is the prior log-odds of spam.
	Bias float64
	// Threshold is the score at or above which a message is spam, chosen by
	// cross-validation on the training groups to mark little real mail.
	Threshold float64
	// CalA and CalB map a score to a probability: sigmoid(CalA*score+CalB),
	// fitted on out-of-fold scores (Platt scaling).
	CalA, CalB float64

	bufs sync.Pool
}

// weightScale is the fixed-point scale of stored weights: 1/256 nats of
// resolution, ±128 nats of range (no real token comes near it).
const weightScale = 256

//go:embed base.model
var baseModel []byte

// Base decodes the base model built into the binary (`make model` trains it
// from the public SpamAssassin corpus).
func Base() (*Model, error) {
	return DecodeModel(baseModel)
}

// Score returns msg's spam score: the log-odds that it is spam under the
// model (before calibration), or -Inf when the model knows too few of its
// features to judge (see MinEvidence). It allocates nothing in the steady state.
func (m *Model) Score(msg *Message) float64 {
	bp, _ := m.bufs.Get().(*[]uint32)
	if bp == nil {
		b := make([]uint32, 0, 1024)
		bp = &b
	}
	hs := features((*bp)[:0], msg)
	var sum int64
	known := 0
	for _, h := range hs {
		w := m.weights[h&m.mask]
		sum += int64(w)
		if w != 0 {
			known++
		}
	}
	*bp = hs
	m.bufs.Put(bp)
	if known < MinEvidence {
		return math.Inf(-1)
	}
	return m.Bias + float64(sum)/weightScale
}

// MinEvidence is the number of features the model must know before it may
// call a message spam. Naive Bayes leans toward spam on a message of few
// known words (the threshold sits below the prior), and lost mail is worse
// than missed spam: with less evidence, Score says -Inf, never spam.
const MinEvidence = 10

func (m *Model) probability(score float64) float64 {
	return sigmoid(m.CalA*score + m.CalB)
}

// Encoding: "IQNB", format 1, bits, version (length-prefixed), then bias,
// threshold, calA, calB as float64 and 2^bits int16 weights, little endian.
const modelMagic = "IQNB"

// MarshalBinary encodes the model.
func (m *Model) MarshalBinary() ([]byte, error) {
	if len(m.Version) > 255 {
		return nil, errors.New("model version longer than 255 bytes")
	}
	b := make([]byte, 0, 8+len(m.Version)+32+2*len(m.weights))
	b = append(b, modelMagic...)
	b = append(b, 1, m.bits, byte(len(m.Version)))
	b = append(b, m.Version...)
	for _, f := range []float64{m.Bias, m.Threshold, m.CalA, m.CalB} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	for _, w := range m.weights {
		b = binary.LittleEndian.AppendUint16(b, uint16(w))
	}
	return b, nil
}

// DecodeModel decodes a model written by MarshalBinary.
func DecodeModel(b []byte) (*Model, error) {
	if len(b) < 7 || string(b[:4]) != modelMagic || b[4] != 1 {
		return nil, errors.New("decoding model: not an inboxq model (format 1)")
	}
	bits, vlen := b[5], int(b[6])
	if bits < 8 || bits > 24 {
		return nil, fmt.Errorf("decoding model: %d hash bits out of range", bits)
	}
	b = b[7:]
	n := 1 << bits
	if len(b) != vlen+32+2*n {
		return nil, fmt.Errorf("decoding model: %d bytes, want %d", len(b), vlen+32+2*n)
	}
	m := &Model{Version: string(b[:vlen]), bits: bits, mask: uint32(n - 1), weights: make([]int16, n)}
	b = b[vlen:]
	fs := []*float64{&m.Bias, &m.Threshold, &m.CalA, &m.CalB}
	for i, f := range fs {
		*f = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	b = b[32:]
	for i := range m.weights {
		m.weights[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return m, nil
}

// MustBase returns a classifier over the base model. The model is embedded
// in the binary, so one that does not decode is a build defect: it panics.
func MustBase() *Classifier {
	m, err := Base()
	if err != nil {
		panic(err)
	}
	return New(m)
}
