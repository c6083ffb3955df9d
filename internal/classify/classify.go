// Package classify decides an email's category: rules over Gmail's labels and
// the message's headers, and a local naive Bayes spam model over hashed
// tokens of its subject, sender and text. It is pure logic: no database, no
// network; the base model is embedded in the binary.
package classify

import (
	"math"
)

// Category is where a message belongs in the inbox.
type Category string

// The categories: Gmail's own five, plus newsletters and spam.
const (
	Primary     Category = "primary"
	Social      Category = "social"
	Promotions  Category = "promotions"
	Updates     Category = "updates"
	Forums      Category = "forums"
	Newsletters Category = "newsletters"
	Spam        Category = "spam"
)

// Categories lists every category in a stable order.
var Categories = []Category{Primary, Social, Promotions, Updates, Forums, Newsletters, Spam}

// Source says which stage of the pipeline decided.
type Source string

// The sources of a decision. This package produces rule and model; the
// LLM stage (internal/llm) and a person's correction live outside it.
const (
	SourceRule   Source = "rule"
	SourceModel  Source = "model"
	SourceLLM    Source = "llm"
	SourcePerson Source = "person"
)

// ParseCategory returns the category named s, or false.
func ParseCategory(s string) (Category, bool) {
	c := Category(s)
	return c, categoryIndex(c) >= 0
}

// Decision is the classifier's answer for one message.
type Decision struct {
	Category Category
	// Confidence is in [0, 1]: how sure the deciding stage is of Category.
	Confidence float64
	// Spam is the model's (or Gmail's SPAM label's) verdict; it is true
	// exactly when Category is Spam.
	Spam   bool
	Source Source
	// Rule names the rule or stage that decided (gmail-label:..., sender-rule:...,
	// user-model, bulk-sender...); empty for the base model.
	Rule string
	// SpamProbability is the model's calibrated probability that the
	// message is spam (0 when a label rule decided without the model). The
	// spam threshold need not lie at p = 0.5: it is where the ham budget of
	// cross-validation put it.
	SpamProbability float64
	// ModelVersion identifies the model that scored the message.
	ModelVersion string
}

// Classifier runs the pipeline: Gmail's labels, then the spam model, then
// header rules for the category of mail that is not spam. It is safe for
// concurrent use.
type Classifier struct {
	model *Model
}

// New returns a classifier over model (see Base for the built-in one).
func New(model *Model) *Classifier {
	return &Classifier{model: model}
}

// Model returns the classifier's model.
func (c *Classifier) Model() *Model { return c.model }

// Classify decides msg's category. It allocates nothing on the model path
// beyond what the token buffer pool already holds.
//
// Order matters: Gmail's labels are the strongest evidence and end the
// pipeline. The spam model runs before the header rules because spam dresses
// up as bulk mail (List-Unsubscribe, Precedence: bulk); header evidence only
// sorts the mail the model let through.
func (c *Classifier) Classify(msg *Message) Decision {
	return c.ClassifyFor(msg, nil)
}

// classifyModel runs the stages after the rules: the spam model, then
// header evidence for mail that is not spam.
func (c *Classifier) classifyModel(msg *Message) Decision {
	score := c.model.Score(msg)
	d := Decision{SpamProbability: c.model.probability(score), ModelVersion: c.model.Version}
	// Confidence in the model's verdict grows with the score's distance
	// from the threshold, on the calibrated slope. It is not p: the
	// threshold sits where the ham budget allows, not at p = 0.5.
	sure := sigmoid(c.model.CalA * (score - c.model.Threshold))
	if score >= c.model.Threshold {
		d.Category, d.Spam, d.Source, d.Confidence = Spam, true, SourceModel, sure
		return d
	}
	if cat, rule, ok := headerRule(msg); ok {
		d.Category, d.Source, d.Rule = cat, SourceRule, rule
		d.Confidence = ruleConfidence
		return d
	}
	d.Category, d.Source, d.Confidence = Primary, SourceModel, 1-sure
	return d
}

// ruleConfidence is what a header rule claims: strong evidence, not proof.
const ruleConfidence = 0.9

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
