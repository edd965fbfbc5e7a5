// spinner: a Go program that burns one core forever.
package main

import (
	"fmt"
	"os"
)

var sink uint64

func main() {
	fmt.Fprintln(os.Stderr, "spinner: started")
	for i := uint64(0); ; i++ {
		sink += i * i
	}
}
