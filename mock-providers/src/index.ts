/** Public API of the mock providers. */

export type { Clock, Timers } from './clock.ts'
export { systemClock, systemTimers } from './clock.ts'
export type { IncomingCall, PlanContext } from './core.ts'
export { planResponse } from './core.ts'
export type {
  MockServer,
  Mocks,
  ProfileSource,
  StartMockServerOptions,
  StartMocksOptions,
} from './mock-server.ts'
export { DEFAULT_PROFILE, startMockServer, startMocks } from './mock-server.ts'
export type { MockService, MockServiceOptions } from './mock-service.ts'
export type { MswHandlersOptions, MswMock } from './msw-handlers.ts'
export { createMswHandlers, DEFAULT_BASE_URLS } from './msw-handlers.ts'
export type { MswNetworkOptions } from './msw-network.ts'
export { createMswNetwork } from './msw-network.ts'
export type { ResponsePlan, Terminal } from './plan.ts'
export { ProfileError, parseProfile } from './profile.ts'
export { loadProfile, PROFILES_DIR } from './profile-load.ts'
export type { Fault, FaultType, Profile, ProfileInput, RouteName } from './profile-schema.ts'
export type { Outcome, StatsSnapshot } from './stats.ts'
export type { WireName } from './wire.ts'
