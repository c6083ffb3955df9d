package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/messages"
)

// Cluster is a group of messages that belong together.
type Cluster struct {
	ID        string    `json:"id" doc:"The cluster's id: its account, a dot, and an id that stays the same across runs while the cluster lasts; a bulk target's cluster_id takes it"`
	AccountID int64     `json:"account_id" doc:"The account whose messages it groups"`
	Key       string    `json:"key" doc:"What its messages share: from:ADDRESS (one sender) or subject:TEMPLATE (a subject template, digits masked, sent from many addresses)"`
	Label     string    `json:"label" doc:"A name for people: the main sender's name, then the most frequent subject words"`
	Sender    string    `json:"sender" doc:"The address most of its messages come from"`
	Terms     []string  `json:"terms" doc:"The most frequent words of its subjects (up to 3)"`
	Size      int       `json:"size" doc:"Messages in it when it was last computed"`
	Unread    int       `json:"unread" doc:"Of those, unread then"`
	First     time.Time `json:"first" doc:"When its oldest message was received"`
	Last      time.Time `json:"last" doc:"When its newest message was received"`
	UpdatedAt time.Time `json:"updated_at" doc:"When cluster_user_emails last changed it"`
	Examples  []string  `json:"examples,omitempty" doc:"Subjects of its newest three messages (lists only)"`
}

func clusterOf(c messages.Cluster) Cluster {
	return Cluster{ID: c.ID.String(), AccountID: c.AccountID, Key: c.Key, Label: c.Label, Sender: c.Sender, Terms: c.Terms,
		Size: c.Size, Unread: c.Unread, First: c.First, Last: c.Last, UpdatedAt: c.UpdatedAt, Examples: c.Examples}
}

// ClusterListInput filters and pages the caller's clusters.
type ClusterListInput struct {
	PageInput
	AccountID int64 `query:"account_id" minimum:"0" doc:"Only this account's clusters (0 or absent: all your accounts)"`
}

// ClusterListOutput is a page of clusters.
type ClusterListOutput struct {
	Body struct {
		Clusters   []Cluster `json:"clusters" doc:"Biggest first"`
		NextCursor string    `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// ClusterIDInput names a cluster.
type ClusterIDInput struct {
	ID    string `path:"id" maxLength:"40" doc:"The cluster's id, as listed"`
	Limit int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"How many of its newest messages to include"`
}

// ClusterDetail is one cluster with its newest messages.
type ClusterDetail struct {
	Cluster
	Messages []Message `json:"messages" doc:"Its newest messages, newest first (up to limit)"`
}

// ClusterOutput is one cluster.
type ClusterOutput struct {
	Body ClusterDetail
}

func registerClusters(api huma.API, d Deps) {
	if d.Messages == nil {
		return
	}
	svc := *d.Messages
	tags := []string{"Clusters"}
	huma.Register(api, huma.Operation{
		OperationID: "list-clusters", Method: http.MethodGet, Path: Prefix + "/clusters",
		Summary: "List your clusters",
		Description: "Groups of your messages that belong together (a newsletter, one service's notifications, a campaign), biggest " +
			"first, as the task cluster_user_emails last found them. Archive, label or trash one with a bulk task whose target is " +
			"{\"cluster_id\": ID}; POST /accounts/{id}/messages/count previews it.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *ClusterListInput) (*ClusterListOutput, error) {
		var acct *int64
		if in.AccountID > 0 {
			acct = &in.AccountID
		}
		cs, next, err := svc.Clusters(ctx, principal(ctx).UserID, acct, in.Cursor, in.Limit)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &ClusterListOutput{}
		out.Body.Clusters = make([]Cluster, len(cs))
		for i, c := range cs {
			out.Body.Clusters[i] = clusterOf(c)
		}
		out.Body.NextCursor = next
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-cluster", Method: http.MethodGet, Path: Prefix + "/clusters/{id}",
		Summary: "Get a cluster", Description: "One of your clusters with its newest messages. Another person's cluster is a 404.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *ClusterIDInput) (*ClusterOutput, error) {
		c, err := svc.Cluster(ctx, principal(ctx).UserID, in.ID, in.Limit)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &ClusterOutput{}
		out.Body.Cluster = clusterOf(c.Cluster)
		out.Body.Messages = make([]Message, len(c.Messages))
		for i, m := range c.Messages {
			out.Body.Messages[i] = messageOf(m)
		}
		return out, nil
	})
}
