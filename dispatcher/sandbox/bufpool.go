package sandbox

import (
	"bytes"
	"sync"
)

// maxPooledBuffer is the largest buffer put back in the pool; rare large bodies are left to the
// garbage collector rather than pinned.
const maxPooledBuffer = 64 << 10

// bufferPool recycles the buffers request bodies are read into, so that a send costs no body
// allocation unless [Config.RecordBodies] keeps it. Safe for concurrent use.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) get() *bytes.Buffer {
	if buf, ok := b.p.Get().(*bytes.Buffer); ok {
		return buf
	}
	return new(bytes.Buffer)
}

func (b *bufferPool) put(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledBuffer {
		return
	}
	buf.Reset()
	b.p.Put(buf)
}
