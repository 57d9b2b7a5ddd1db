package pipe

import (
	"encoding/binary"
	"sync"
)

// Records: outputs whose writer needs more than lines frame what they put
// in a buffer as records, a header then n bytes:
//
//	op (1) | id (8) | arg (8) | n (4) | n bytes
//
// the meaning of op, id and arg being the output's.
const HdrLen = 1 + 8 + 8 + 4

// AppendHeader appends the header of a record of n bytes.
func AppendHeader(b []byte, op byte, id, arg uint64, n int) []byte {
	b = append(b, op)
	b = binary.LittleEndian.AppendUint64(b, id)
	b = binary.LittleEndian.AppendUint64(b, arg)
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

// SetLen sets the n of the record starting at rec[0], for a record whose
// length was not known when its header was appended.
func SetLen(rec []byte, n int) { binary.LittleEndian.PutUint32(rec[17:], uint32(n)) }

// NextRecord splits the first record off b; ok is false when b does not
// start with a whole record.
func NextRecord(b []byte) (op byte, id, arg uint64, p, rest []byte, ok bool) {
	if len(b) < HdrLen {
		return 0, 0, 0, nil, b, false
	}
	n := int(binary.LittleEndian.Uint32(b[17:]))
	if len(b)-HdrLen < n {
		return 0, 0, 0, nil, b, false
	}
	op = b[0]
	id = binary.LittleEndian.Uint64(b[1:])
	arg = binary.LittleEndian.Uint64(b[9:])
	return op, id, arg, b[HdrLen : HdrLen+n], b[HdrLen+n:], true
}

// Handlers is the list of an output's per-worker handlers, each holding a
// buffer of the output's Pipe: handlers are added until Close, which
// hands their buffers over and closes the Pipe. It is not on the data
// path. The zero value is ready to use.
type Handlers[H any] struct {
	mu     sync.Mutex // guards hs and closed
	hs     []H
	closed bool
}

// Add registers and returns newH(n), n being the number of handlers added
// before it. After Close it panics with errClosed.
func (r *Handlers[H]) Add(errClosed error, newH func(n int) H) H {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		panic(errClosed)
	}
	h := newH(len(r.hs))
	r.hs = append(r.hs, h)
	return h
}

// All returns the handlers added so far (safe from any goroutine).
func (r *Handlers[H]) All() []H {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hs
}

// Close calls drain on every handler, the first time only, then closes p
// and returns its error. drain must hand the handler's buffer over
// (p.Put); it runs with new handlers locked out, after the workers
// stopped using their handlers. Later calls return the same error.
func (r *Handlers[H]) Close(p *Pipe, drain func(H)) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		for _, h := range r.hs {
			drain(h)
		}
	}
	r.mu.Unlock()
	return p.Close()
}
