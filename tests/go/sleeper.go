// sleeper: a Go program that does nothing for an hour. Its threads wait in futex
// and its sysmon in nanosleep: an idle Go process.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	fmt.Fprintln(os.Stderr, "sleeper: started")
	time.Sleep(time.Hour)
}
