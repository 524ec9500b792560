package lifecycle

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"github.com/aragora/aragora/store"
)

// docCacheBytes bounds the raw documents a docCache keeps (each entry
// holds a copy of its stored Config and Result documents).
const docCacheBytes = 8 << 20

// docCache keeps, per debate id, the parsed Spec and ResultDoc of the
// stored documents they came from, so that reading a debate does not
// re-parse its JSON documents on every request (the result document
// embeds the receipt). An entry is used only when the stored bytes are
// equal to the ones it was parsed from, so a changed document is parsed
// again and the answer never differs from parsing. It is safe for
// concurrent use; the zero value is not usable, call newDocCache.
type docCache struct {
	mu    sync.Mutex
	m     map[string]*docEntry
	bytes int
	limit int
}

// docEntry is immutable once stored; callers get copies of its values.
type docEntry struct {
	epoch     string
	rawSpec   []byte
	spec      *Spec
	rawResult []byte
	result    *ResultDoc
	// body is the encoded full debate object of a finished debate whose
	// record matched key and whose documents were rawSpec and rawResult.
	body []byte
	key  objectKey
	// sealed: body is final (see Manager.Seal); sealChecked is the last
	// seq a seal was tried at, so a debate that cannot be sealed yet is
	// checked once per change of its log.
	sealed      bool
	sealChecked int64
}

func (e *docEntry) size() int { return len(e.rawSpec) + 2*len(e.rawResult) + len(e.body) + 512 }

// objectKey is what a full debate object depends on besides its id and
// its two documents: the record's fields and the effective status and
// times (before the result document fills them).
type objectKey struct {
	status                              store.Status
	topic, owner, correlationID         string
	lastSeq                             int64
	created, updated, started, finished time.Time
}

func (k objectKey) equal(o objectKey) bool {
	return k.status == o.status && k.topic == o.topic && k.owner == o.owner && k.correlationID == o.correlationID &&
		k.lastSeq == o.lastSeq && k.created.Equal(o.created) && k.updated.Equal(o.updated) &&
		k.started.Equal(o.started) && k.finished.Equal(o.finished)
}

// body returns the encoded object kept for id when it was made from
// equal documents and key, else nil. The caller must not modify it.
func (c *docCache) body(id string, rawSpec, rawResult []byte, key objectKey) []byte {
	e := c.get(id)
	if e == nil || e.body == nil || !e.key.equal(key) || !bytes.Equal(e.rawSpec, rawSpec) || !bytes.Equal(e.rawResult, rawResult) {
		return nil
	}
	return e.body
}

// setBody keeps b, the object encoded from rawSpec, rawResult and key,
// when those documents are the cached ones (spec and result were called).
func (c *docCache) setBody(id string, rawSpec, rawResult []byte, key objectKey, b []byte) {
	e := c.get(id)
	if e == nil || e.spec == nil || e.result == nil || !bytes.Equal(e.rawSpec, rawSpec) || !bytes.Equal(e.rawResult, rawResult) {
		return
	}
	b = bytes.Clone(b)
	c.put(id, e, func(e *docEntry) { e.body, e.key, e.sealed, e.sealChecked = b[:len(b):len(b)], key, false, 0 })
}

// sealedBody returns id's body when it is sealed, else nil.
func (c *docCache) sealedBody(id string) []byte {
	if e := c.get(id); e != nil && e.sealed {
		return e.body
	}
	return nil
}

// sealable reports whether id's body was made from exactly these
// documents and key and is neither sealed nor checked at lastSeq.
func (c *docCache) sealable(id string, rawSpec, rawResult []byte, key objectKey) bool {
	e := c.get(id)
	return e != nil && e.body != nil && !e.sealed && e.sealChecked != key.lastSeq && e.key.equal(key) &&
		bytes.Equal(e.rawSpec, rawSpec) && bytes.Equal(e.rawResult, rawResult)
}

// seal marks id's body final if it is still the one sealable checked;
// with ok false it only records that lastSeq was checked.
func (c *docCache) seal(id string, rawSpec, rawResult []byte, key objectKey, ok bool) {
	e := c.get(id)
	if e == nil || e.body == nil || !e.key.equal(key) || !bytes.Equal(e.rawSpec, rawSpec) || !bytes.Equal(e.rawResult, rawResult) {
		return
	}
	c.put(id, e, func(e *docEntry) { e.sealed, e.sealChecked = ok, key.lastSeq })
}

func newDocCache(limit int) *docCache { return &docCache{m: map[string]*docEntry{}, limit: limit} }

func (c *docCache) get(id string) *docEntry {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	e := c.m[id]
	c.mu.Unlock()
	return e
}

// put replaces id's entry with a copy of old (nil: empty) changed by set.
func (c *docCache) put(id string, old *docEntry, set func(e *docEntry)) {
	if c == nil {
		return
	}
	e := &docEntry{}
	if old != nil {
		*e = *old
	}
	set(e)
	n := e.size()
	if n > c.limit/16 {
		return // too large to be worth keeping
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[id]; ok {
		c.bytes -= prev.size()
	}
	for k, v := range c.m { // evict arbitrary entries until it fits
		if c.bytes+n <= c.limit {
			break
		}
		c.bytes -= v.size()
		delete(c.m, k)
	}
	c.m[id] = e
	c.bytes += n
}

// epoch returns StreamEpoch(id).
func (c *docCache) epoch(id string) string {
	e := c.get(id)
	if e != nil && e.epoch != "" {
		return e.epoch
	}
	ep := StreamEpoch(id)
	c.put(id, e, func(e *docEntry) { e.epoch = ep })
	return ep
}

// spec returns the Spec parsed from raw, a debate's stored Config (an
// empty Spec when raw does not parse, as objectOf does).
func (c *docCache) spec(id string, raw []byte) *Spec {
	e := c.get(id)
	if e != nil && e.spec != nil && bytes.Equal(e.rawSpec, raw) {
		sp := *e.spec
		return &sp
	}
	sp := &Spec{}
	if json.Unmarshal(raw, sp) != nil {
		return sp
	}
	cp := *sp
	c.put(id, e, func(e *docEntry) { e.rawSpec, e.spec, e.body, e.sealed = bytes.Clone(raw), &cp, nil, false })
	return sp
}

// result returns the ResultDoc parsed from raw, or nil when raw is empty,
// null or does not parse (as withResult does).
func (c *docCache) result(id string, raw []byte) *ResultDoc {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	e := c.get(id)
	if e != nil && e.result != nil && bytes.Equal(e.rawResult, raw) {
		rd := *e.result
		return &rd
	}
	var rd ResultDoc
	if json.Unmarshal(raw, &rd) != nil {
		return nil
	}
	cp := rd
	c.put(id, e, func(e *docEntry) { e.rawResult, e.result, e.body, e.sealed = bytes.Clone(raw), &cp, nil, false })
	return &rd
}
