// Package debate is the Aragora debate orchestrator: several agents propose
// answers to a question, critique each other, revise and vote, and a
// consensus method decides the outcome (docs/debate.md is the behavioural
// specification this package implements).
//
// # Running a debate
//
// [New] takes a [Config], whose zero value works (three rounds, majority,
// all-to-all critiques, nothing persisted), and two or more [Participant]s.
// [Orchestrator.Run] or [Orchestrator.RunTask] runs one debate and returns a
// [Result] carrying the status, verdict, confidence, final answer, dissent
// and the full transcript.
//
// Each round has a proposal phase (propose in round 1, then revise in
// answer to critiques), a critique phase along the configured topology
// (all-to-all, ring, star or sparse) and a vote phase, after which the
// consensus method decides. Calls of a phase run concurrently, at most
// MaxConcurrency at a time, each bounded by AgentTimeout and the debate's
// deadline. A failed or unusable call is recorded as an agent_error event
// and the agent sits out that phase only; below Quorum the debate fails.
// No phase waits for a call past its deadline: the call is a timeout, its
// context is cancelled, its slot goes to the next call and a reply it
// gives later is discarded. Run waits for such a call's goroutine before
// returning, but for at most 5 s: an agent that ignores its context longer
// is abandoned and logged (agent_abandoned, with its name), and its
// goroutine is the only one that outlives Run.
//
// Under method judge, Config.Judge (or JudgeAgent) decides each round;
// under method none, and for Config.Synthesize, Config.Synthesizer (or
// SynthesizerAgent) writes the final answer or synthesis, and defaults to
// the judge.
//
// # Events and observers
//
// Every step is an [Event] with a per-debate seq (1, 2, 3… with no gap).
// Events are produced in phase batches: a batch is numbered, written to the
// store with the checkpoint in one atomic call, and only then delivered to
// [Observer]s. Each observer has its own goroutine and bounded buffer, so a
// slow or panicking observer never slows the debate.
//
// # Persistence and resume
//
// With Config.Store implementing store.Checkpointer the orchestrator
// checkpoints after every phase and [Orchestrator.Resume] continues an
// interrupted debate from its last completed phase, with seq continuing
// without gap. Cancelling the context with cause [ErrSuspend] suspends a
// debate for a later resume instead of cancelling it.
//
// # Budgets, convergence and the trickster
//
// MaxTokens and MaxCostUSD stop a debate before a phase whose estimate
// would exceed them (status budget_exceeded). Convergence between
// proposals is measured with package similarity and can end a debate early
// (StopOnConvergence). The trickster detects hollow consensus (agreement
// without evidence, scored by package evidence), challenges it and
// penalises the final confidence.
//
// # Determinism
//
// With a fixed Config.Now, fixed ids and deterministic agents (such as
// agent/demo with a fixed seed), two runs produce byte-identical results
// and event streams, agent_token events aside.
package debate
