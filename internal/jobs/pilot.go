package jobs

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivershared/baseservice"
	"github.com/riverqueue/river/rivershared/riverpilot"
	"github.com/riverqueue/river/rivertype"
)

// stepPilot is River's standard pilot, except that River's completer
// completes a workflow step only once the step completer's statement for
// it has ended (see StepCompleter).
type stepPilot struct {
	riverpilot.StandardPilot
	steps *StepCompleter
}

func (p *stepPilot) JobSetStateIfRunningMany(ctx context.Context, exec riverdriver.Executor, params *riverdriver.JobSetStateIfRunningManyParams) ([]*rivertype.JobRow, error) {
	p.steps.await(ctx, params.ID)
	return p.StandardPilot.JobSetStateIfRunningMany(ctx, exec, params)
}

// pilotDriver is River's pgx driver with a pilot of its own: River takes
// its pilot from a driver that has one (River Pro's way in, the
// river.driverPlugin interface).
type pilotDriver struct {
	*riverpgxv5.Driver
	pilot riverpilot.Pilot
}

// PluginInit and PluginPilot make the driver a river.driverPlugin; a
// River upgrade that changes that interface (River's internal API) fails
// TestRiverCompletesStepsAfterTheStepCompleter.
func (pilotDriver) PluginInit(*baseservice.Archetype) {}

func (d pilotDriver) PluginPilot() riverpilot.Pilot { return d.pilot }

// driver returns the River driver for pool; with steps, River's
// completions of workflow steps wait for steps' own.
func driver(pool *pgxpool.Pool, steps *StepCompleter) riverdriver.Driver[pgx.Tx] {
	d := riverpgxv5.New(pool)
	if steps == nil {
		return d
	}
	return pilotDriver{Driver: d, pilot: &stepPilot{steps: steps}}
}
