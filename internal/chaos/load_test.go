//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inbox"
)

// Load: many cheap tasks from many users. The task is a bulk archive whose
// target (one id the store does not hold) selects nothing: a real kind,
// with its account check, progress, result and completion alert, that
// calls no Gmail.
const (
	loadUsers   = 20
	loadPerUser = 500
)

type loadUser struct {
	user inbox.Principal
	acct int64
}

// loadFigures are what the load came to.
type loadFigures struct {
	tasks, completed, unfinished, ranTwice, alerts, alertTasks int
	createdIn, drainedIn, total                                time.Duration
	perProcess                                                 map[string]int
	problems                                                   []string
}

func (l *loadFigures) problem(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

func (e *env) loadUsers(ctx context.Context) ([]loadUser, error) {
	var us []loadUser
	for i := range loadUsers {
		box := fmt.Sprintf("load-%02d@chaos.test", i)
		tok, err := e.auth.CreateToken(ctx, auth.CreateTokenParams{User: fmt.Sprintf("chaos-load-%02d", i), Name: "chaos"})
		if err != nil {
			return nil, err
		}
		if err := e.fake.addMailbox(box, int64(1000+i), 3); err != nil {
			return nil, err
		}
		acct, err := e.connect(ctx, tok.User, box)
		if err != nil {
			return nil, err
		}
		us = append(us, loadUser{user: tok.User, acct: acct})
	}
	return us, nil
}

// load creates loadUsers × loadPerUser tasks from 8 goroutines, users
// interleaved, waits for every one to finish (bound), and checks each
// completed after exactly one attempt by one process, with one alert.
func (e *env) load(ctx context.Context, users []loadUser, bound time.Duration) loadFigures {
	var f loadFigures
	start := time.Now()
	work := make(chan loadUser)
	go func() {
		defer close(work)
		for range loadPerUser {
			for _, u := range users {
				work <- u
			}
		}
	}()
	var (
		mu   sync.Mutex
		ids  []int64
		errs []error
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for u := range work {
				id, err := e.create(ctx, u.user, "bulk_archive_emails",
					map[string]any{"account_id": u.acct, "target": map[string]any{"ids": []string{"ffffffffffffffff"}}})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ids = append(ids, id)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	f.createdIn = time.Since(start)
	created := time.Now()
	if len(errs) > 0 {
		f.problem("%d tasks could not be created, e.g.: %v", len(errs), errs[0])
	}

	err := waitUntil(ctx, bound, time.Second, func() (bool, error) {
		var left int
		err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job
			WHERE id = ANY($1) AND state NOT IN ('completed', 'cancelled', 'discarded')`, ids).Scan(&left)
		return left == 0, err
	})
	if err != nil {
		f.problem("tasks unfinished: %v", err)
	}
	f.drainedIn = time.Since(created)

	var first, last time.Time
	err = e.st.Pool().QueryRow(ctx, `SELECT count(*),
			count(*) FILTER (WHERE state = 'completed'),
			count(*) FILTER (WHERE state NOT IN ('completed', 'cancelled', 'discarded')),
			count(*) FILTER (WHERE attempt <> 1 OR cardinality(attempted_by) <> 1),
			min(created_at), max(finalized_at)
		FROM river_job WHERE id = ANY($1)`, ids).Scan(&f.tasks, &f.completed, &f.unfinished, &f.ranTwice, &first, &last)
	if err != nil {
		f.problem("reading the tasks: %v", err)
		return f
	}
	f.total = last.Sub(first)
	err = e.st.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT task_id) FROM alert WHERE task_id = ANY($1)`, ids).
		Scan(&f.alerts, &f.alertTasks)
	if err != nil {
		f.problem("reading alerts: %v", err)
	}
	rows, err := e.st.Pool().Query(ctx, `SELECT coalesce(attempted_by[cardinality(attempted_by)], ''), count(*) FROM river_job
		WHERE id = ANY($1) GROUP BY 1`, ids)
	if err == nil {
		f.perProcess = map[string]int{}
		for rows.Next() {
			var id string
			var n int
			if rows.Scan(&id, &n) == nil {
				f.perProcess[e.procName(id)] += n
			}
		}
		rows.Close()
	}

	want := loadUsers * loadPerUser
	if f.tasks != want || f.completed != want {
		f.problem("of %d tasks %d exist and %d completed (%d unfinished)", want, f.tasks, f.completed, f.unfinished)
	}
	if f.ranTwice > 0 {
		f.problem("%d tasks ran more than once", f.ranTwice)
	}
	if f.alerts != f.completed || f.alertTasks != f.completed {
		f.problem("%d completion alerts for %d tasks (%d completed)", f.alerts, f.alertTasks, f.completed)
	}
	return f
}
