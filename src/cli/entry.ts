// Entry point of the single-executable bundle (bin/statesync.js is the npm one).
import { main } from './main.js';

void main(process.argv);
