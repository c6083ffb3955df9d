// Command train builds inboxq's base spam model from the public SpamAssassin
// corpus (`make model` fetches the corpus and runs it). It trains only on the
// groups easy-ham-1, hard-ham-1 and spam-1; easy-ham-2 and spam-2 are
// reserved for acceptance and read only by -accept, which evaluates an
// already written model and changes nothing.
package main

import (
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/inboxq/inboxq/internal/classify"
)

// Groups of the corpus by role. Nothing but -accept reads the reserved ones.
var (
	trainHam     = []string{"easy-ham-1", "hard-ham-1"}
	trainSpam    = []string{"spam-1"}
	reservedHam  = []string{"easy-ham-2"}
	reservedSpam = []string{"spam-2"}
)

const (
	folds = 10
	// maxHamAsSpam is the threshold's budget of real mail marked spam in
	// cross-validation: half the 1 % target, as a margin for unseen mail.
	maxHamAsSpam = 0.005
	modelVersion = "nb18-sa1"
)

type example struct {
	name string
	msg  *classify.Message
	spam bool
}

func main() {
	corpus := flag.String("corpus", "", "directory holding the corpus groups (the npm package's data/)")
	out := flag.String("out", "internal/classify/base.model", "model file to write (or, with -accept, to evaluate)")
	accept := flag.Bool("accept", false, "evaluate the model in -out on the reserved groups (easy-ham-2, spam-2) and print the figures; run once, tune nothing after")
	flag.Parse()
	if *corpus == "" {
		fmt.Fprintln(os.Stderr, "train: -corpus is required")
		os.Exit(2)
	}
	var err error
	if *accept {
		err = acceptance(*corpus, *out)
	} else {
		err = train(*corpus, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func load(dir string, groups []string, spam bool) ([]example, error) {
	var exs []example
	for _, g := range groups {
		files, err := filepath.Glob(filepath.Join(dir, g, "*.txt"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no messages in group %s under %s", g, dir)
		}
		sort.Strings(files)
		skipped := 0
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			msg, err := classify.ParseMessage(raw)
			if err != nil {
				skipped++
				continue
			}
			exs = append(exs, example{name: g + "/" + filepath.Base(f), msg: msg, spam: spam})
		}
		fmt.Printf("%-11s %5d messages (%d unparseable, skipped)\n", g, len(files)-skipped, skipped)
	}
	return exs, nil
}

// fold assigns an example to a fold by a hash of its name: deterministic,
// and independent of the order of the groups.
func fold(name string) int {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(folds))
}

func train(dir, out string) error {
	ham, err := load(dir, trainHam, false)
	if err != nil {
		return err
	}
	spam, err := load(dir, trainSpam, true)
	if err != nil {
		return err
	}
	all := slices.Concat(ham, spam)

	// Out-of-fold scores: each message scored by a model that never saw it.
	scores := make([]float64, len(all))
	for k := range folds {
		t := classify.NewTrainer(classify.DefaultBits)
		for _, e := range all {
			if fold(e.name) != k {
				t.Add(e.msg, e.spam)
			}
		}
		m, err := t.Model(modelVersion)
		if err != nil {
			return err
		}
		for i, e := range all {
			if fold(e.name) == k {
				scores[i] = m.Score(e.msg)
			}
		}
	}
	threshold := chooseThreshold(all, scores)
	a, b := platt(all, scores)

	fmt.Printf("\n%d-fold cross-validation on the training groups (%d ham, %d spam), threshold %.2f:\n", folds, len(ham), len(spam), threshold)
	report(all, scores, threshold)
	for k := range folds {
		var fe []example
		var fs []float64
		for i, e := range all {
			if fold(e.name) == k {
				fe, fs = append(fe, e), append(fs, scores[i])
			}
		}
		c := count(fe, fs, threshold)
		fmt.Printf("  fold %d: accuracy %.4f, ham marked spam %d/%d, spam caught %d/%d\n", k, c.accuracy(), c.fp, c.fp+c.tn, c.tp, c.tp+c.fn)
	}

	t := classify.NewTrainer(classify.DefaultBits)
	for _, e := range all {
		t.Add(e.msg, e.spam)
	}
	m, err := t.Model(modelVersion)
	if err != nil {
		return err
	}
	m.Threshold, m.CalA, m.CalB = threshold, a, b
	enc, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, enc, 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s (%d bytes, version %s)\n", out, len(enc), modelVersion)
	return nil
}

type confusion struct{ tp, fp, tn, fn int }

func (c confusion) accuracy() float64 {
	return float64(c.tp+c.tn) / float64(c.tp+c.fp+c.tn+c.fn)
}

func count(exs []example, scores []float64, threshold float64) confusion {
	var c confusion
	for i, e := range exs {
		switch s := scores[i] >= threshold; {
		case s && e.spam:
			c.tp++
		case s && !e.spam:
			c.fp++
		case !s && e.spam:
			c.fn++
		default:
			c.tn++
		}
	}
	return c
}

func report(exs []example, scores []float64, threshold float64) {
	c := count(exs, scores, threshold)
	hamN, spamN := c.fp+c.tn, c.tp+c.fn
	fmt.Printf("  accuracy %.4f; ham marked spam %d/%d (%.2f %%); spam caught %d/%d (%.2f %%); balanced accuracy %.4f\n",
		c.accuracy(), c.fp, hamN, 100*float64(c.fp)/float64(hamN), c.tp, spamN, 100*float64(c.tp)/float64(spamN),
		(float64(c.tn)/float64(hamN)+float64(c.tp)/float64(spamN))/2)
}

// chooseThreshold picks, among the out-of-fold scores, the threshold with the
// best balanced accuracy (the reserved groups are balanced, the training
// groups are not) whose ham-marked-spam rate stays within maxHamAsSpam.
func chooseThreshold(exs []example, scores []float64) float64 {
	cands := slices.Clone(scores)
	slices.Sort(cands)
	best, bestT := -1.0, math.Inf(1)
	for i, t := range cands {
		if i > 0 && cands[i-1] == t {
			continue
		}
		c := count(exs, scores, t)
		hamN, spamN := float64(c.fp+c.tn), float64(c.tp+c.fn)
		if float64(c.fp)/hamN > maxHamAsSpam {
			continue
		}
		if ba := (float64(c.tn)/hamN + float64(c.tp)/spamN) / 2; ba > best {
			best, bestT = ba, t
		}
	}
	return bestT
}

// platt fits p = sigmoid(a*score+b) to the out-of-fold scores by Newton's
// method (Platt's targets, which keep a separable set from diverging).
func platt(exs []example, scores []float64) (a, b float64) {
	var np, nn float64
	for _, e := range exs {
		if e.spam {
			np++
		} else {
			nn++
		}
	}
	hi, lo := (np+1)/(np+2), 1/(nn+2)
	a, b = 0.01, 0
	for range 100 {
		var ga, gb, haa, hab, hbb float64
		for i, e := range exs {
			y := lo
			if e.spam {
				y = hi
			}
			s := scores[i]
			if math.IsInf(s, 0) {
				continue // too little evidence to score; Classify says 0.5
			}
			p := 1 / (1 + math.Exp(-(a*s + b)))
			d := p - y
			w := max(p*(1-p), 1e-12)
			ga += d * s
			gb += d
			haa += w * s * s
			hab += w * s
			hbb += w
		}
		det := haa*hbb - hab*hab
		if det == 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		a, b = a-da, b-db
		if math.Abs(da) < 1e-9 && math.Abs(db) < 1e-9 {
			break
		}
	}
	return a, b
}

// acceptance evaluates the model in path on the reserved groups. It is the
// only code that reads them.
func acceptance(dir, path string) error {
	enc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	m, err := classify.DecodeModel(enc)
	if err != nil {
		return err
	}
	ham, err := load(dir, reservedHam, false)
	if err != nil {
		return err
	}
	spam, err := load(dir, reservedSpam, true)
	if err != nil {
		return err
	}
	all := slices.Concat(ham, spam)
	c := classify.New(m)
	scores := make([]float64, len(all))
	for i, e := range all {
		// The whole pipeline decides (no Gmail labels in the corpus); a
		// spam decision shows as a score above the threshold.
		if c.Classify(e.msg).Spam {
			scores[i] = 1
		}
	}
	fmt.Printf("\nacceptance of model %s on the reserved groups:\n", m.Version)
	report(all, scores, 1)
	if len(all) == 0 {
		return errors.New("no reserved messages")
	}
	return nil
}
