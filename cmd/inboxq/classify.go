package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/inboxq/inboxq/internal/classify"
)

// classifyLine is one line of `inboxq classify` output.
type classifyLine struct {
	File       string  `json:"file"`
	Category   string  `json:"category"`
	Confidence float64 `json:"confidence"`
	Spam       bool    `json:"spam"`
	Source     string  `json:"source"`
	// With --explain:
	Rule            string             `json:"rule,omitempty"`
	SpamProbability *float64           `json:"spam_probability,omitempty"`
	Model           string             `json:"model,omitempty"`
	Features        []classify.Feature `json:"features,omitempty"`
}

func cmdClassify(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify [--explain] FILE...", flag.ContinueOnError)
	explain := fs.Bool("explain", false, "add the deciding rule, the spam probability and the features that weighed most")
	if err := parseFlags(fs, args, stdout, "Classifies raw RFC 822 messages (one per file, - for stdin; a leading mbox \"From \" line is\ntolerated) with the built-in rules and base model, and prints one JSON line per message.\nNeeds no database."); err != nil {
		return ignoreHelp(err)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: classify needs at least one FILE (- for stdin)", errUsage)
	}
	c := classify.MustBase()
	enc := json.NewEncoder(stdout)
	failed := 0
	for _, name := range fs.Args() {
		raw, err := readInput(name, stdin)
		var msg *classify.Message
		if err == nil {
			msg, err = classify.ParseMessage(raw)
		}
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "inboxq classify: %s: %v\n", name, err)
			continue
		}
		d := c.Classify(msg)
		line := classifyLine{
			File: name, Category: string(d.Category), Confidence: round4(d.Confidence),
			Spam: d.Spam, Source: string(d.Source),
		}
		if *explain {
			p := round4(d.SpamProbability)
			line.Rule, line.SpamProbability, line.Model = d.Rule, &p, d.ModelVersion
			line.Features = c.Model().Explain(msg, 8)
			for i := range line.Features {
				line.Features[i].Weight = round4(line.Features[i].Weight)
			}
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d inputs could not be classified", failed, fs.NArg())
	}
	return nil
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("no such file")
	}
	return b, err
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }
