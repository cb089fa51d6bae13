package workertest

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// RawPublish publishes on the bare NATS protocol to the server at addr (host:port), as a client
// in another language may: an HPUB whose header block is hdr as given, which nats.go would refuse
// to send. It returns once the server answered the PING that follows, so the publish was read.
func RawPublish(t testing.TB, addr, subject, hdr string, body []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil { // INFO
		t.Fatal(err)
	}
	block := "NATS/1.0\r\n" + hdr + "\r\n"
	fmt.Fprintf(c, "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\nHPUB %s %d %d\r\n%s%s\r\nPING\r\n",
		subject, len(block), len(block)+len(body), block, body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("raw publish: %v", err)
		}
		if strings.HasPrefix(line, "-ERR") {
			t.Fatalf("raw publish: %s", line)
		}
		if strings.HasPrefix(line, "PONG") {
			return
		}
	}
}
