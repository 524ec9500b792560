// Package lifecycle runs stored debates: it is the one owner of how a
// debate is specified, created, leased, run, resumed, cancelled, finished
// and described, below the HTTP server and the CLI, which both use it.
//
// It sits over the store ports (store.DebateStore and its optional
// Checkpointer and Leaser) and the engine (package debate), and imports no
// HTTP, no driver and no provider adapter.
//
// # Pieces
//
//   - [Spec] is a debate's normalised settings, stored with it
//     (store.Debate.Config); [Request] is the body of POST /api/debates and
//     [Request.Normalise] validates it into a Spec.
//   - [Agents] resolves agent names and specs; the composition builds it
//     from the provider registry.
//   - [Manager] creates debates ([Manager.Create]), runs them within the
//     process's limits ([Manager.Submit]), cancels them, resumes the
//     debates other processes left behind and times out stale ones
//     ([Manager.Start], [Manager.ResumeOrphans], [Manager.TimeOutStale]),
//     and suspends its own on [Manager.Shutdown].
//   - [Manager.Prepare] claims one debate and builds its orchestrator as a
//     [Job]; [Job.Run] runs it. `aragora debate` uses these directly.
//   - [ResultDoc] is the result document stored with a finished debate, and
//     [DebateObject] the debate object of the API and `--format json`.
//
// # Leases and fencing
//
// A running debate is held by one process through a lease
// (store.Leaser). Each claim increments the lease's generation, and every
// write of the holder (heartbeats, checkpoints with their events, the
// final result) is conditional on that generation: a process that lost the
// lease (paused, partitioned, a late `aragora debate --resume`) has its
// next write refused with store.ErrLeaseLost and stops at once, writing
// nothing more and making no further agent call. Prepare refuses a debate
// another live process holds with a [*HeldError] naming the holder.
//
// # Durable before visible
//
// A debate's final status, result document, usage rows, outbox messages
// and debate_end event are committed in one store write (the final
// checkpoint, through debate.Config.Finalize) before any observer, client
// or log line sees them.
package lifecycle
