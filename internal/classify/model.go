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
	// Version names the model (e.g. "nb20-sa2"); decisions carry it.
	Version string
	bits    uint8
	mask    uint32
	// weights[b] is log P(bucket b | spam) − log P(bucket b | ham), scaled by
	// weightScale and rounded.
	weights []int16
	// Bias is the prior log-odds of spam.
	Bias float64
	// Threshold is the score at or above which a message is spam, chosen by
	// cross-validation on the training groups to mark little real mail, whole
	// or cut to a snippet, and always above Bias (see Score).
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
// model, before calibration. A feature the model never saw (or saw too
// rarely to trust) weighs nothing, so a message the model knows little about
// scores near Bias, the prior, and the threshold lies above Bias: a message
// without spam evidence is never spam. It allocates nothing in the steady
// state.
func (m *Model) Score(msg *Message) float64 {
	bp, _ := m.bufs.Get().(*[]uint32)
	if bp == nil {
		b := make([]uint32, 0, 1024)
		bp = &b
	}
	hs := features((*bp)[:0], msg)
	var sum int64
	for _, h := range hs {
		sum += int64(m.weights[h&m.mask])
	}
	*bp = hs
	m.bufs.Put(bp)
	return m.Bias + float64(sum)/weightScale
}

func (m *Model) probability(score float64) float64 {
	return sigmoid(m.CalA*score + m.CalB)
}

// Encoding: "IQNB", format 2, bits, version (length-prefixed), then bias,
// threshold, calA, calB as float64, the number of non-zero weights as a
// uint32, and for each in bucket order the gap from the previous one's
// bucket (uvarint) and the int16 weight; little endian. Most buckets are
// zero (never seen, or seen too rarely), so the file is a fraction of the
// 2^bits × 2 bytes it expands to.
const (
	modelMagic  = "IQNB"
	modelFormat = 2
)

// MarshalBinary encodes the model.
func (m *Model) MarshalBinary() ([]byte, error) {
	if len(m.Version) > 255 {
		return nil, errors.New("model version longer than 255 bytes")
	}
	b := make([]byte, 0, 8+len(m.Version)+36+len(m.weights)/2)
	b = append(b, modelMagic...)
	b = append(b, modelFormat, m.bits, byte(len(m.Version)))
	b = append(b, m.Version...)
	for _, f := range []float64{m.Bias, m.Threshold, m.CalA, m.CalB} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	nonzero := 0
	for _, w := range m.weights {
		if w != 0 {
			nonzero++
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(nonzero))
	prev := -1
	for i, w := range m.weights {
		if w != 0 {
			b = binary.AppendUvarint(b, uint64(i-prev))
			b = binary.LittleEndian.AppendUint16(b, uint16(w))
			prev = i
		}
	}
	return b, nil
}

// DecodeModel decodes a model written by MarshalBinary.
func DecodeModel(b []byte) (*Model, error) {
	if len(b) < 7 || string(b[:4]) != modelMagic || b[4] != modelFormat {
		return nil, fmt.Errorf("decoding model: not an inboxq model (format %d)", modelFormat)
	}
	bits, vlen := b[5], int(b[6])
	if bits < 8 || bits > 24 {
		return nil, fmt.Errorf("decoding model: %d hash bits out of range", bits)
	}
	b = b[7:]
	if len(b) < vlen+36 {
		return nil, errors.New("decoding model: truncated header")
	}
	n := 1 << bits
	m := &Model{Version: string(b[:vlen]), bits: bits, mask: uint32(n - 1), weights: make([]int16, n)}
	b = b[vlen:]
	fs := []*float64{&m.Bias, &m.Threshold, &m.CalA, &m.CalB}
	for i, f := range fs {
		*f = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	nonzero := int(binary.LittleEndian.Uint32(b[32:]))
	b = b[36:]
	i := -1
	for range nonzero {
		gap, k := binary.Uvarint(b)
		if k <= 0 || gap == 0 || gap > uint64(n) || len(b) < k+2 {
			return nil, errors.New("decoding model: truncated or corrupt weights")
		}
		i += int(gap)
		if i >= n {
			return nil, errors.New("decoding model: weight beyond the last bucket")
		}
		m.weights[i] = int16(binary.LittleEndian.Uint16(b[k:]))
		b = b[k+2:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("decoding model: %d bytes left over", len(b))
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
