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
	"strings"
	"unicode"

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
	modelVersion = "nb20-sa2"
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

// snippetLen is the body a stored message has: Gmail's snippet is about 200
// characters. The model is trained and judged on messages cut to it too.
// noteLen stands for a one-line note ("Are you free for lunch tomorrow?"):
// the threshold keeps real mail cut to it within the ham budget as well.
const (
	snippetLen = 200
	noteLen    = 40
)

// snippet returns msg with its body cut to snippetLen bytes, as a stored
// message would have it.
func snippet(msg *classify.Message) *classify.Message { return cut(msg, snippetLen) }

// cut returns msg with its body cut to n bytes.
func cut(msg *classify.Message, n int) *classify.Message {
	s := *msg
	s.Body = s.Body[:min(len(s.Body), n)]
	return &s
}

// fold assigns an example to a fold by a hash of its normalised subject
// (lowercased letters only, reply and forward prefixes dropped), so that a
// thread's messages and a campaign's near-copies ("... 22311", "... 22312")
// never sit on both sides of a split; subjects with fewer than 4 letters
// fold by the file's name. Deterministic and independent of group order.
func fold(e example) int {
	key := normSubject(e.msg.Subject)
	if len(key) < 4 {
		key = "name:" + e.name
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(folds))
}

func normSubject(s string) string {
	s = strings.ToLower(s)
	for {
		t := strings.TrimSpace(s)
		for _, p := range []string{"re:", "fw:", "fwd:", "aw:"} {
			t = strings.TrimPrefix(t, p)
		}
		if t == s {
			break
		}
		s = t
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// addExample trains on e whole and on e cut to a snippet: the model then
// knows what the start of a message says on its own, as a stored message
// shows it (cross-validation: more spam caught, whole and cut, at the same
// ham budget; see docs/architecture.md).
func addExample(t *classify.Trainer, e example) {
	t.Add(e.msg, e.spam)
	t.Add(snippet(e.msg), e.spam)
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
	folded := make([]int, len(all))
	for i, e := range all {
		folded[i] = fold(e)
	}

	// Out-of-fold scores, whole and cut to a snippet: each message scored
	// by a model that never saw it nor anything of its subject.
	whole := make([]float64, len(all))
	short := make([]float64, len(all))
	note := make([]float64, len(all))
	prior := make([]float64, folds) // each fold model's Bias: the score of no evidence
	for k := range folds {
		t := classify.NewTrainer(classify.DefaultBits)
		for i, e := range all {
			if folded[i] != k {
				addExample(t, e)
			}
		}
		m, err := t.Model(modelVersion)
		if err != nil {
			return err
		}
		prior[k] = m.Bias
		for i, e := range all {
			if folded[i] == k {
				whole[i], short[i], note[i] = m.Score(e.msg), m.Score(snippet(e.msg)), m.Score(cut(e.msg, noteLen))
			}
		}
	}

	t := classify.NewTrainer(classify.DefaultBits)
	for _, e := range all {
		addExample(t, e)
	}
	m, err := t.Model(modelVersion)
	if err != nil {
		return err
	}
	threshold := chooseThreshold(all, whole, short, note, max(slices.Max(prior), m.Bias))
	a, b := platt(slices.Concat(all, all), slices.Concat(whole, short))

	fmt.Printf("\n%d-fold cross-validation on the training groups (%d ham, %d spam), folds grouped by subject, threshold %.2f (prior %.2f):\n",
		folds, len(ham), len(spam), threshold, m.Bias)
	fmt.Print("  whole messages: ")
	report(all, whole, threshold)
	fmt.Printf("  cut to %d-byte snippets: ", snippetLen)
	report(all, short, threshold)
	fmt.Printf("  cut to %d bytes: ", noteLen)
	report(all, note, threshold)
	for k := range folds {
		var fe []example
		var fw, fc []float64
		for i, e := range all {
			if folded[i] == k {
				fe, fw, fc = append(fe, e), append(fw, whole[i]), append(fc, short[i])
			}
		}
		w, c := count(fe, fw, threshold), count(fe, fc, threshold)
		fmt.Printf("  fold %d: whole: ham marked spam %d/%d, spam caught %d/%d; snippets: ham marked spam %d, spam caught %d\n",
			k, w.fp, w.fp+w.tn, w.tp, w.tp+w.fn, c.fp, c.tp)
	}
	// The figures above judge the threshold on the scores it was chosen
	// from; here each fold is judged at a threshold chosen without it.
	var hw, hc confusion
	for k := range folds {
		var oe, fe []example
		var ow, oc, on, fw, fc []float64
		for i, e := range all {
			if folded[i] == k {
				fe, fw, fc = append(fe, e), append(fw, whole[i]), append(fc, short[i])
			} else {
				oe, ow, oc, on = append(oe, e), append(ow, whole[i]), append(oc, short[i]), append(on, note[i])
			}
		}
		th := chooseThreshold(oe, ow, oc, on, prior[k])
		hw, hc = hw.add(count(fe, fw, th)), hc.add(count(fe, fc, th))
	}
	fmt.Print("  threshold chosen without the fold judged, whole messages: ")
	reportConfusion(hw)
	fmt.Print("  threshold chosen without the fold judged, snippets: ")
	reportConfusion(hc)

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

func (c confusion) add(d confusion) confusion {
	return confusion{c.tp + d.tp, c.fp + d.fp, c.tn + d.tn, c.fn + d.fn}
}

func (c confusion) accuracy() float64 {
	return float64(c.tp+c.tn) / float64(c.tp+c.fp+c.tn+c.fn)
}

func (c confusion) balanced() float64 {
	return (float64(c.tn)/float64(c.fp+c.tn) + float64(c.tp)/float64(c.tp+c.fn)) / 2
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
	reportConfusion(count(exs, scores, threshold))
}

func reportConfusion(c confusion) {
	hamN, spamN := c.fp+c.tn, c.tp+c.fn
	fmt.Printf("accuracy %.4f; ham marked spam %d/%d (%.2f %%); spam caught %d/%d (%.2f %%); balanced accuracy %.4f\n",
		c.accuracy(), c.fp, hamN, 100*float64(c.fp)/float64(hamN), c.tp, spamN, 100*float64(c.tp)/float64(spamN), c.balanced())
}

// chooseThreshold picks, among the out-of-fold scores above prior (the score
// of a message the model knows nothing of, which must not be spam), the
// threshold with the best balanced accuracy (the reserved groups are
// balanced, the training groups are not), averaged over whole messages and
// snippets, whose ham-marked-spam rate stays within maxHamAsSpam for whole
// messages, snippets and notes alike.
func chooseThreshold(exs []example, whole, short, note []float64, prior float64) float64 {
	cands := slices.Concat(whole, short, note, []float64{math.Nextafter(prior, math.Inf(1))})
	slices.Sort(cands)
	best, bestT := -1.0, math.Inf(1)
	for i, t := range cands {
		if t <= prior || i > 0 && cands[i-1] == t {
			continue
		}
		w, c, n := count(exs, whole, t), count(exs, short, t), count(exs, note, t)
		hamN := float64(w.fp + w.tn)
		if float64(w.fp)/hamN > maxHamAsSpam || float64(c.fp)/hamN > maxHamAsSpam || float64(n.fp)/hamN > maxHamAsSpam {
			continue
		}
		if ba := (w.balanced() + c.balanced()) / 2; ba > best {
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
