//! Process plumbing shared by every command: finding programs, signalling and killing one
//! exact process, reaping. It talks to the OS and decides nothing about a hang; it imports
//! no command module and nothing of the classifier.

pub mod process;
