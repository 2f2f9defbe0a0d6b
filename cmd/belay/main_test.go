package main

import (
	"testing"

	"github.com/belay-proxy/belay/internal/testpg"
)

// TestMain stops the throwaway PostgreSQL a test may have started.
func TestMain(m *testing.M) { testpg.Main(m) }
