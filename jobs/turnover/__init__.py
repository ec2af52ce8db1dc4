"""The sound turnover: what a post house opens directly — picture and sound on one timecode behind a 2-pop head,
Broadcast WAV, notes as markers in the formats editors and DAWs import, and a README."""
