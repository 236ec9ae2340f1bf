// The DICOMweb access matrix (access-matrix.contract.ts) on the default index, SQLite.
import { dicomWebAccessMatrix } from './access-matrix.contract.js';

dicomWebAccessMatrix('SQLite', async () => ({}));
