import type { Logger } from "pino";
import { ForbiddenError } from "../../errors.ts";
import { resourceName } from "../../kube/types.ts";
import type { AccessCheck, Denial, StreamAccess } from "../../streams/subscribers/access.ts";
import type { Authenticator } from "./authenticator.ts";
import type { Authorizer } from "./authorizer.ts";
import { type Identity, isRejection } from "./identity.ts";

const verbs = ["list", "watch"] as const;

/**
 * One caller's access, for the life of its request and of the streams it opens. The token is kept
 * in memory only to re-validate it on re-checks.
 */
export class RequestAccess implements StreamAccess {
  readonly subject: string;
  readonly ownUser: string | undefined;
  readonly expiresAt: number | undefined;
  private readonly rootLogger: Logger | undefined;
  private readonly requestId: string | undefined;
  private childLogger: Logger | undefined;
  private readonly identity: Identity;
  private readonly token: string | undefined;
  private readonly authenticator: Authenticator | undefined;
  private readonly authorizer: Authorizer | undefined;

  /** Without an authorizer every request is allowed (--auth none). */
  constructor(
    identity: Identity,
    options: { token?: string; authenticator?: Authenticator; authorizer?: Authorizer; logger?: Logger; requestId?: string } = {},
  ) {
    this.identity = identity;
    this.rootLogger = options.logger;
    this.requestId = options.requestId;
    this.subject = identity.username;
    this.token = options.token;
    this.authenticator = options.authenticator;
    this.authorizer = options.authorizer;
    this.ownUser = options.authorizer?.confineTo?.(identity);
    this.expiresAt = identity.expiresAt;
  }

  /** A child with the request id and user, made on first use: most streams never log. */
  get logger(): Logger | undefined {
    this.childLogger ??= this.rootLogger?.child({ requestId: this.requestId, user: this.identity.username });
    return this.childLogger;
  }

  async authorize(check: AccessCheck): Promise<void> {
    const refused = await this.firstRefusal(this.identity, check);
    if (refused) throw new ForbiddenError(refused);
  }

  async recheck(check: AccessCheck): Promise<Denial | undefined> {
    let identity = this.identity;
    if (this.authenticator && this.token !== undefined) {
      const current = await this.authenticator.authenticate(this.token);
      if (!current || isRejection(current)) {
        const why = current ? ` (${current.rejected})` : "";
        return { code: "UNAUTHENTICATED", message: `your token is no longer valid${why}; sign in again before reconnecting` };
      }
      identity = current;
    }
    const refused = await this.firstRefusal(identity, check);
    return refused ? { code: "FORBIDDEN", message: `access revoked: ${refused}` } : undefined;
  }

  /** A message naming the first resource and verb refused, or undefined when all are allowed. */
  private async firstRefusal(identity: Identity, { resources, namespace }: AccessCheck): Promise<string | undefined> {
    const authorizer = this.authorizer;
    if (!authorizer) return undefined;
    const requests = resources.flatMap((type) => verbs.map((verb) => ({ verb, type, namespace })));
    const decisions = await Promise.all(requests.map((request) => authorizer.authorize(identity, request)));
    const index = decisions.findIndex((d) => !d.allowed);
    if (index === -1) return undefined;
    const { verb, type } = requests[index] as (typeof requests)[number];
    const explanation = decisions[index]?.explanation;
    return `${identity.username} may not ${verb} ${resourceName(type)} in namespace ${namespace}${explanation ? `: ${explanation}` : ""}`;
  }
}
