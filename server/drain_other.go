//go:build !linux

package server

import "net"

// refuseNewConnections is Linux's socket filter (drain_linux.go); elsewhere
// the listener closes at once, and connections the kernel had queued are
// reset.
func refuseNewConnections(ln net.Listener) bool { return false }
