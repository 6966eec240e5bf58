import { Injectable } from '@nestjs/common';

/** Set when SIGTERM arrives; readiness reports it so traffic moves elsewhere. */
@Injectable()
export class ShutdownState {
  draining = false;
}
